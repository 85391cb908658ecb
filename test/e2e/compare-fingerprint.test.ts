// Every result records what it ran on (`fingerprint`), and compare refuses
// results whose fingerprints differ in a field that changes the answer
// (exit 2, the field and where each value was seen), unless the difference
// is declared with --allow-different; the fields that differ are shown in a
// table on stderr. Real runs of `podmeter load` against real PodMeters, two
// of them in a fake sidecar pod whose Envoy admin answers as Istio 1.24 and
// 1.25 would; results of an older podmeter (no fingerprint) still compare.

import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import type { Running } from '../../src/main/serve.js'
import type { LoadResult } from '../../src/cli/result.js'
import { type Child, ENVOY_SERVER_INFO, type FakeEnvoyAdmin, fixturePod, getJson, runCli, startCli, startFakeEnvoyAdmin, startServer, tempFiles, waitFor } from '../support/helpers.js'

const tmp = tempFiles('compare-fingerprint')
const read = (file: string): LoadResult => JSON.parse(readFileSync(file, 'utf8')) as LoadResult

describe('fingerprints: recorded on every result, held equal by compare', () => {
  let admin124: FakeEnvoyAdmin
  let admin125: FakeEnvoyAdmin
  let pm124: Running
  let pm125: Running
  let plain: Running
  let onNode: Child
  const files: Record<string, string> = {}

  async function run (name: string, url: string, ...extra: string[]): Promise<void> {
    files[name] = tmp(`${name}.json`)
    // -n 40 -c 2 unless the run says otherwise (-d for the open loop's time).
    const shape = [...(extra.includes('-d') ? [] : ['-n', '40']), ...(extra.includes('-c') ? [] : ['-c', '2'])]
    const r = await runCli(['load', '-q', '--warmup', '0', ...shape, '--label', name, ...extra, '-o', files[name], url])
    assert.equal(r.code, 0, r.stderr)
  }

  before(async () => {
    admin124 = await startFakeEnvoyAdmin()
    const next = JSON.parse(ENVOY_SERVER_INFO) as { version: string, command_line_options: { concurrency: number }, node: { metadata: Record<string, unknown> } }
    next.version = next.version.replace('1.32.3-dev', '1.33.2')
    next.command_line_options.concurrency = 4
    next.node.metadata.ISTIO_VERSION = '1.25.1'
    admin125 = await startFakeEnvoyAdmin(undefined, 0, JSON.stringify(next))
    pm124 = await startServer({ delayUs: 0, meshRefreshMs: 100, ...fixturePod('sidecar'), envoyAdmin: admin124.address })
    pm125 = await startServer({ delayUs: 0, meshRefreshMs: 100, ...fixturePod('sidecar'), envoyAdmin: admin125.address })
    plain = await startServer({ delayUs: 0 })
    for (const pm of [pm124, pm125]) await waitFor('the sidecar\'s /server_info', async () => (await getJson(`${pm.url}/stats`)).istio_version !== null)
    // A server that knows its node, for placement.
    onNode = await startCli(['serve', '--delay-ms', '0'], { NODE_NAME: 'worker-2', ENVOY_ADMIN: 'off', PODINFO_DIR: '/nonexistent/podinfo' })
    await run('a124', `${pm124.url}/`)
    await run('b124', `${pm124.url}/`)
    await run('c125', `${pm125.url}/`)
    await run('plain', `${plain.url}/`)
    await run('same', `${onNode.url}/`, '--client-node', 'worker-2')
    await run('cross', `${onNode.url}/`, '--client-node', 'worker-1')
    await run('c1', `${plain.url}/`, '-c', '1')
    await run('qps100', `${plain.url}/`, '--qps', '100', '-d', '300ms')
    await run('qps200', `${plain.url}/`, '--qps', '200', '-d', '300ms')
  })
  after(async () => {
    await Promise.all([pm124.shutdown(), pm125.shutdown(), plain.shutdown()])
    onNode.child.kill('SIGTERM')
    await onNode.exit
    await Promise.all([admin124.close(), admin125.close()])
  })

  test('a result records its fingerprint: the client, the target and what its /stats said, the load\'s shape', () => {
    const r = read(files.a124 as string)
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
    assert.deepEqual({ ...r.fingerprint, mode_evidence: r.fingerprint.mode_evidence?.slice(0, 1) }, {
      podmeter_version: pkg.version,
      node_version: process.version,
      target: `${pm124.url}/`,
      mode: 'sidecar',
      mode_evidence: ['annotation sidecar.istio.io/status: Istio injected istio-init, istio-proxy'],
      istio_version: '1.24.2',
      istio_revision: 'default',
      proxy_concurrency: 2,
      client_node: null,
      server_node: null,
      placement: 'unknown',
      payload: { method: 'GET', request_body_bytes: 0 },
      connections: 2,
      rate: null,
      load_kind: 'closed'
    })
    assert.equal(r.target_stats?.envoy_version, '1.32.3-dev')
    const open = read(files.qps200 as string).fingerprint
    assert.deepEqual([open.rate, open.load_kind, open.mode, open.istio_version, open.proxy_concurrency], [200, 'open', 'none', null, null])
    assert.deepEqual([read(files.cross as string).fingerprint.placement, read(files.cross as string).fingerprint.server_node], ['cross-node', 'worker-2'])
  })

  test('another Istio version and proxy concurrency: refused (exit 2), each field named with where its values ran, and a table on stderr', async () => {
    const r = await runCli(['compare', files.a124 as string, files.c125 as string])
    assert.equal(r.code, 2, r.stderr)
    assert.equal(r.stdout, '', 'no comparison table')
    assert.match(r.stderr, /the results differ in Istio version \(the sidecar's ISTIO_VERSION\): 1\.24\.2 \(a124 round 1\) and 1\.25\.1 \(c125 round 1\);.*pass --allow-different istio_version/)
    assert.match(r.stderr, /the results differ in proxy concurrency \(Envoy worker threads\): 2 \(a124 round 1\) and 4 \(c125 round 1\);.*pass --allow-different proxy_concurrency/)
    assert.doesNotMatch(r.stderr, /differ in Istio revision/, 'the same revision')
    const table = r.stderr.split('\n')
    assert.ok(table.some((l) => /^ {2}istio_version +1\.24\.2 +1\.25\.1 +differs: refused$/.test(l)), r.stderr)
    assert.ok(table.some((l) => /^ {2}proxy_concurrency +2 +4 +differs: refused$/.test(l)), r.stderr)

    const one = await runCli(['compare', '--allow-different', 'istio_version', files.a124 as string, files.c125 as string])
    assert.equal(one.code, 2, 'one of two declared: still refused')
    assert.match(one.stderr, /as allowed by --allow-different istio_version/)
    assert.match(one.stderr, /pass --allow-different proxy_concurrency/)
    const both = await runCli(['compare', '--allow-different', 'istio_version,proxy_concurrency', files.a124 as string, files.c125 as string])
    assert.equal(both.code, 0, both.stderr)
    assert.match(both.stdout, /a124 \(1 round\) vs c125 \(1 round\)/)
    assert.match(both.stderr, /proxy_concurrency +2 +4 +differs: allowed/)
  })

  test('the same fingerprint compares without a table or a note', async () => {
    const r = await runCli(['compare', files.a124 as string, files.b124 as string])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stderr, '')
  })

  test('placement, connections, rate: each refused, each allowed when declared', async () => {
    const cases: Array<[string, string, string, RegExp]> = [
      ['same', 'cross', 'placement', /the results differ in placement \(client and server on the same node or not\): same-node \(same round 1\) and cross-node \(cross round 1\)/],
      ['plain', 'c1', 'connections', /the results differ in connections \(-c, and pipelining\): 2 connections \(plain round 1\) and 1 connection \(c1 round 1\)/],
      ['qps100', 'qps200', 'rate', /the results differ in rate \(the open loop's requested req\/s\): 100 req\/s \(qps100 round 1\) and 200 req\/s \(qps200 round 1\)/]
    ]
    for (const [a, b, field, message] of cases) {
      const refused = await runCli(['compare', files[a] as string, files[b] as string])
      assert.equal(refused.code, 2, `${field}: ${refused.stderr}`)
      assert.match(refused.stderr, message)
      const allowed = await runCli(['compare', '--allow-different', field, files[a] as string, files[b] as string])
      assert.equal(allowed.code, 0, `${field}: ${allowed.stderr}`)
    }
  })

  test('the client\'s Node version: refused unless declared (a result from another client)', async () => {
    const other = read(files.b124 as string)
    other.fingerprint.node_version = 'v22.12.0'
    other.label = 'node22'
    const file = tmp('node22.json')
    writeFileSync(file, JSON.stringify(other))
    const r = await runCli(['compare', files.a124 as string, file])
    assert.equal(r.code, 2)
    assert.match(r.stderr, new RegExp(`the results differ in Node version \\(of the client\\): ${process.version.replace(/\./g, '\\.')} \\(a124 round 1\\) and v22\\.12\\.0 \\(node22 round 1\\)`))
    assert.equal((await runCli(['compare', '--allow-different', 'node_version', files.a124 as string, file])).code, 0)
  })

  test('unknown is not different: a target that shows no Istio version (ambient, no mesh) compares, the table says so', async () => {
    const r = await runCli(['compare', files.a124 as string, files.plain as string])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /istio_version +1\.24\.2 +\? +unknown somewhere: not compared/)
    assert.match(r.stderr, /proxy_concurrency +2 +\? +unknown somewhere: not compared/)
  })

  test('an older podmeter\'s result, without a fingerprint: compared, its values unknown, with a note', async () => {
    const old = read(files.b124 as string) as Partial<LoadResult>
    delete old.fingerprint
    for (const k of ['mesh_evidence', 'istio_version', 'istio_revision', 'proxy_concurrency', 'envoy_version'] as const) delete old.target_stats?.[k]
    old.label = 'old'
    const file = tmp('old.json')
    writeFileSync(file, JSON.stringify(old))
    // Against a result of another Istio version and concurrency: nothing known to differ.
    const r = await runCli(['compare', file, files.c125 as string])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /note: old round 1 has no fingerprint \(written by an older podmeter\): its placement, istio_version, istio_revision, proxy_concurrency, node_version, podmeter_version are unknown, and not held against the others/)
    assert.match(r.stderr, /istio_version +\? +1\.25\.1 +unknown somewhere: not compared/)
    // What it does record is still held: its connections.
    const c1 = await runCli(['compare', file, files.c1 as string])
    assert.equal(c1.code, 2)
    assert.match(c1.stderr, /differ in connections/)
  })

  test('--allow-different names only fields a comparison holds', async () => {
    const r = await runCli(['compare', '--allow-different', 'target,mode', files.a124 as string, files.b124 as string])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /--allow-different: "target", "mode" is not a field a comparison holds equal; the fields: payload, response_size, connections, load_kind, rate, placement, istio_version, istio_revision, proxy_concurrency, node_version, podmeter_version/)
  })
})

describe('a TCP result has a fingerprint too', () => {
  let pm: Running
  before(async () => { pm = await startServer({ delayUs: 0, tcpEchoPort: 0 }) })
  after(async () => { await pm.shutdown() })

  test('its payload is the message size; two sizes are refused', async () => {
    const target = `tcp://127.0.0.1:${String(pm.tcpEcho?.port)}`
    const out: string[] = []
    for (const size of ['64', '128']) {
      const file = tmp(`tcp${size}.json`)
      const r = await runCli(['load', '-q', target, '-n', '50', '-c', '2', '--payload', size, '--warmup', '0', '--label', `tcp${size}`, '--stats-url', `${pm.url}/stats`, '-o', file])
      assert.equal(r.code, 0, r.stderr)
      out.push(file)
    }
    const fp = read(out[0] as string).fingerprint
    assert.deepEqual([fp.target, fp.payload, fp.load_kind, fp.connections, fp.mode], [target, { method: 'TCP', request_body_bytes: 64 }, 'closed', 2, 'none'])
    const r = await runCli(['compare', ...out])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /the results differ in payload \(method and request body size\): TCP, 64-byte request bodies \(tcp64 round 1\) and TCP, 128-byte request bodies \(tcp128 round 1\)/)
  })
})
