import assert from 'node:assert/strict'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { test } from 'node:test'
import { parseAddress, parseMemory, probeEnvoyAdmin, readServerInfo } from '../../src/main/envoy-admin.js'
import { envoyRelease, parseServerInfo } from '../../src/main/envoy-server-info.js'
import { type AdminFacts, istioView, type IstioView } from '../../src/main/mesh-facts.js'
import { MeshDetector } from '../../src/main/mesh-detect.js'
import { create } from '../../src/shared/layout.js'
import { fetchTargetStats } from '../../src/cli/result.js'
import { ENVOY_SERVER_INFO, fixturePod, freePort, getJson, request, startFakeEnvoyAdmin, startServer, waitFor } from '../support/helpers.js'
import { goDecodeErrors } from '../support/original-stats.js'

async function listen (server: net.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `127.0.0.1:${(server.address() as AddressInfo).port}`
}

test('addresses and /memory bodies', () => {
  assert.deepEqual(parseAddress('127.0.0.1:15000'), { host: '127.0.0.1', port: 15000 })
  assert.deepEqual(parseAddress('[::1]:15000'), { host: '::1', port: 15000 })
  assert.equal(parseAddress('127.0.0.1'), undefined)
  assert.equal(parseAddress('127.0.0.1:0'), undefined)
  assert.deepEqual(parseMemory('{"allocated":"1048576","heap_size":"2097152"}'), { allocated: 1048576, heapSize: 2097152, physical: undefined })
  assert.deepEqual(parseMemory('{"allocated":5,"heap_size":6,"total_physical_bytes":"7"}'), { allocated: 5, heapSize: 6, physical: 7 })
  for (const body of ['', 'null', '[]', '{"allocated":"-1","heap_size":"1"}', '{"allocated":"1"}', '<html>']) assert.equal(parseMemory(body), undefined, body)
})

test('a real Envoy-like admin answers with its memory', async () => {
  const admin = await startFakeEnvoyAdmin()
  try {
    const probe = await probeEnvoyAdmin(admin.address)
    assert.deepEqual(probe, { reachable: true, memory: { allocated: 7065960, heapSize: 10485760, physical: 12582912 } })
  } finally {
    await admin.close()
  }
})

test('whatever else listens there is not Envoy: refused, 404, other JSON, endless, silent', async () => {
  const closed = net.createServer()
  const refusedAt = await listen(closed)
  await new Promise<void>((resolve) => closed.close(() => resolve()))
  assert.deepEqual(await probeEnvoyAdmin(refusedAt), { reachable: false, reason: 'ECONNREFUSED' })

  // An app of the pod's own on that port: first without /memory, then with a /memory of its own.
  let hasMemory = false
  const app = http.createServer((_req, res) => {
    if (hasMemory) res.end('{"status":"ok","rss":"12345"}')
    else res.writeHead(404).end()
  })
  const appAt = await listen(app)
  const endless = http.createServer((_req, res) => {
    res.writeHead(200)
    const chunk = 'x'.repeat(16 * 1024)
    const pump = (): void => {
      let more = true
      while (more) more = res.write(chunk)
      res.once('drain', pump)
    }
    pump()
  })
  const endlessAt = await listen(endless)
  const silent = net.createServer((socket) => socket.resume()) // reads, never answers
  const silentAt = await listen(silent)
  try {
    assert.deepEqual(await probeEnvoyAdmin(appAt), { reachable: false, reason: 'GET /memory answered 404' })
    hasMemory = true
    assert.deepEqual(await probeEnvoyAdmin(appAt), { reachable: false, reason: 'GET /memory did not answer as Envoy does' })
    const big = await probeEnvoyAdmin(endlessAt)
    assert.equal(big.reachable, false, 'an endless body is cut off, not read to the end')
    assert.deepEqual(await probeEnvoyAdmin(silentAt, 100), { reachable: false, reason: 'no answer within 100 ms' })
  } finally {
    for (const s of [app, endless]) s.closeAllConnections()
    await Promise.all([app, endless, silent].map(async (s) => await new Promise((resolve) => s.close(resolve))))
  }
})

// /server_info: what the sidecar runs. The fixture is an Istio 1.24 sidecar's
// answer (test/fixtures/envoy), the proto's every command-line option, the
// node metadata Istio's agent writes.
test('/server_info bodies: the Envoy release, the concurrency, the Istio version, and nothing that is not in Envoy\'s shape', () => {
  assert.deepEqual(parseServerInfo(ENVOY_SERVER_INFO), { envoyVersion: '1.32.3-dev', concurrency: 2, istioVersion: '1.24.2', istioRevision: undefined })
  // A plain Envoy (no Istio metadata), as envoyproxy/envoy prints it.
  const plain = { version: 'dc76d44abceefd511d63c2d91d7439d5bd415639/1.15.0/Clean/RELEASE/BoringSSL', state: 'LIVE', command_line_options: { base_id: '0', concurrency: 8 }, node: { id: 'edge', cluster: 'edge' } }
  assert.deepEqual(parseServerInfo(JSON.stringify(plain)), { envoyVersion: '1.15.0', concurrency: 8, istioVersion: undefined, istioRevision: undefined })
  const withRevision = JSON.parse(ENVOY_SERVER_INFO) as { node: { metadata: Record<string, unknown> } }
  withRevision.node.metadata.ISTIO_REVISION = 'canary-1-24'
  assert.equal(parseServerInfo(JSON.stringify(withRevision))?.istioRevision, 'canary-1-24')
  assert.equal(envoyRelease('1.33.0'), '1.33.0')
  assert.equal(envoyRelease('custom-build'), undefined)

  // Values out of shape are left out; the rest is kept.
  const hostile = (options: unknown, metadata: unknown, version: unknown = 'x/1.32.0/Clean'): unknown =>
    parseServerInfo(JSON.stringify({ version, command_line_options: options, node: { metadata } }))
  for (const concurrency of [0, -1, 2.5, 5000, '2; rm -rf', '', null, true, [2]]) {
    assert.equal((hostile({ concurrency }, {}) as { concurrency: unknown }).concurrency, undefined, JSON.stringify(concurrency))
  }
  assert.equal((hostile({ concurrency: '4' }, {}) as { concurrency: unknown }).concurrency, 4, 'a uint32 printed as a string')
  for (const v of ['<script>alert(1)</script>', '1.24 2', 'x'.repeat(100), 124, null, '']) {
    assert.equal((hostile({}, { ISTIO_VERSION: v, ISTIO_REVISION: v }) as { istioVersion: unknown }).istioVersion, undefined, String(v))
    assert.equal((hostile({}, { ISTIO_VERSION: v, ISTIO_REVISION: v }) as { istioRevision: unknown }).istioRevision, undefined, String(v))
  }
  assert.equal((hostile({}, {}, '<b>1.2.3</b>') as { envoyVersion: unknown }).envoyVersion, undefined)
  assert.deepEqual(hostile({}, 'not an object'), { envoyVersion: '1.32.0', concurrency: undefined, istioVersion: undefined, istioRevision: undefined })
  // Not Envoy's at all.
  for (const body of ['', 'null', '[]', '{}', '{"version":"1.2.3"}', '{"command_line_options":{}}', '{"version":7,"command_line_options":{}}', '{"version":"1","command_line_options":[]}', '<html>']) {
    assert.equal(parseServerInfo(body), undefined, body)
  }
})

test('readServerInfo over a real socket: the sidecar\'s answer, a 404, an oversized body', async () => {
  const istio = await startFakeEnvoyAdmin()
  const none = await startFakeEnvoyAdmin(undefined, 0, null)
  const huge = await startFakeEnvoyAdmin(undefined, 0, JSON.stringify({ version: 'x/1.2.3', command_line_options: {}, pad: 'x'.repeat(300 * 1024) }))
  try {
    assert.deepEqual(await readServerInfo(istio.address), { info: { envoyVersion: '1.32.3-dev', concurrency: 2, istioVersion: '1.24.2', istioRevision: undefined } })
    assert.equal(istio.hits('/server_info'), 1)
    assert.deepEqual(await readServerInfo(none.address), { info: undefined, reason: 'GET /server_info answered 404' })
    assert.deepEqual(await readServerInfo(huge.address), { info: undefined, reason: 'GET /server_info answered more than 262144 bytes' })
  } finally {
    await Promise.all([istio.close(), none.close(), huge.close()])
  }
})

test('/stats: istio_version, istio_revision, proxy_concurrency and envoy_version from the sidecar and the pod; null where nothing shows them', async () => {
  const admin = await startFakeEnvoyAdmin()
  const sidecar = await startServer({ meshRefreshMs: 100, ...fixturePod('sidecar'), envoyAdmin: admin.address })
  const plain = await startServer({ meshRefreshMs: 100 })
  try {
    await waitFor('the sidecar\'s server_info', async () => (await getJson(`${sidecar.url}/stats`)).istio_version !== null)
    const r = await request(`${sidecar.url}/stats`)
    assert.deepEqual(goDecodeErrors(r.body), [], 'the original\'s keys keep their types')
    const s = JSON.parse(r.body) as Record<string, unknown>
    assert.equal(s.service_mesh_mode, 'sidecar')
    assert.deepEqual([s.istio_version, s.istio_revision, s.proxy_concurrency, s.envoy_version], ['1.24.2', 'default', 2, '1.32.3-dev'])
    // Read once while the Envoy lives, not on every refresh.
    await waitFor('a few refreshes', () => admin.hits() >= 4)
    assert.equal(admin.hits('/server_info'), 1)
    // What `podmeter load` keeps of it, for the result's fingerprint.
    const kept = await fetchTargetStats(`${sidecar.url}/stats`)
    assert.deepEqual([kept?.istio_version, kept?.istio_revision, kept?.proxy_concurrency], ['1.24.2', 'default', 2])
    assert.equal(kept?.mesh_evidence?.[0], 'annotation sidecar.istio.io/status: Istio injected istio-init, istio-proxy')

    const p = await getJson(`${plain.url}/stats`)
    assert.deepEqual([p.istio_version, p.istio_revision, p.proxy_concurrency, p.envoy_version], [null, null, null, null])
  } finally {
    await Promise.all([sidecar.shutdown(), plain.shutdown()])
    await admin.close()
  }
})

test('the revision from the pod alone (ambient: no sidecar admin), from the label or the status annotation', () => {
  const view = (labels: Record<string, string>, annotations: Record<string, string>, admin?: Partial<AdminFacts>): IstioView => istioView({
    podinfo: { dir: '/etc/podinfo', found: true, labels: new Map(Object.entries(labels)), annotations: new Map(Object.entries(annotations)) },
    listeners: { files: [], read: false, ports: new Set() },
    admin: { address: undefined, reachable: false, reason: 'off', memory: undefined, serverInfo: undefined, ...admin },
    headers: undefined
  })
  assert.deepEqual(view({ 'istio.io/dataplane-mode': 'ambient', 'istio.io/rev': '1-24-2' }, {}), { version: null, revision: '1-24-2', proxyConcurrency: null, envoyVersion: null })
  assert.equal(view({ 'istio.io/rev': 'label' }, { 'istio.io/rev': 'annotation' }).revision, 'annotation', 'the injector\'s annotation first')
  assert.equal(view({}, { 'sidecar.istio.io/status': '{"containers":["istio-proxy"],"revision":"canary"}' }).revision, 'canary')
  for (const bad of ['{"revision":"<x>"}', 'not json', 'null', '{"revision":7}']) assert.equal(view({}, { 'sidecar.istio.io/status': bad }).revision, null, bad)
  assert.equal(view({ 'istio.io/rev': 'bad value!' }, {}).revision, null)
  const info = { envoyVersion: '1.32.3', concurrency: 4, istioVersion: '1.24.2', istioRevision: 'from-agent' }
  assert.equal(view({}, {}, { reachable: true, serverInfo: info }).revision, 'from-agent', 'the agent\'s, when the pod says nothing')
  assert.equal(view({}, {}, { reachable: false, serverInfo: info }).version, null, 'an admin that went away shows nothing')
})

const views = (): ReturnType<typeof create> => create({ ringCapacity: 1024, lowestUs: 1, highestUs: 60_000_000, digits: 3, windowSeconds: 10 })

test('the detector reads /server_info once per Envoy: again after the admin went away and a new one answers', async () => {
  const port = await freePort()
  const first = await startFakeEnvoyAdmin(undefined, port)
  const detector = new MeshDetector({ ...fixturePod('none'), procNetTcp: fixturePod('none').procNetTcp.split(','), envoyAdmin: `127.0.0.1:${port}`, refreshMs: 600_000, views: views() })
  try {
    await detector.start()
    await detector.refresh()
    await detector.refresh()
    assert.deepEqual(detector.view.istio, { version: '1.24.2', revision: null, proxyConcurrency: 2, envoyVersion: '1.32.3-dev' })
    assert.deepEqual([first.hits(), first.hits('/server_info')], [3, 1])
    await first.close()
    await detector.refresh()
    assert.deepEqual(detector.view.istio, { version: null, revision: null, proxyConcurrency: null, envoyVersion: null })
    const upgraded = JSON.parse(ENVOY_SERVER_INFO) as { version: string, command_line_options: { concurrency: number }, node: { metadata: Record<string, unknown> } }
    upgraded.version = upgraded.version.replace('1.32.3-dev', '1.33.1')
    upgraded.command_line_options.concurrency = 4
    upgraded.node.metadata.ISTIO_VERSION = '1.25.0'
    const second = await startFakeEnvoyAdmin(undefined, port, JSON.stringify(upgraded))
    try {
      await detector.refresh()
      assert.deepEqual(detector.view.istio, { version: '1.25.0', revision: null, proxyConcurrency: 4, envoyVersion: '1.33.1' })
      assert.equal(second.hits('/server_info'), 1)
    } finally {
      await second.close()
    }
  } finally {
    detector.close()
  }
})

test('an admin without /server_info: still a sidecar with its memory, the versions null, asked again next time', async () => {
  const admin = await startFakeEnvoyAdmin(undefined, 0, null)
  const detector = new MeshDetector({ ...fixturePod('none'), procNetTcp: fixturePod('none').procNetTcp.split(','), envoyAdmin: admin.address, refreshMs: 600_000, views: views() })
  try {
    await detector.start()
    await detector.refresh()
    assert.equal(detector.view.mode, 'sidecar')
    assert.ok(detector.view.sidecarMemory !== undefined)
    assert.deepEqual(detector.view.istio, { version: null, revision: null, proxyConcurrency: null, envoyVersion: null })
    assert.equal(admin.hits('/server_info'), 2)
  } finally {
    detector.close()
    await admin.close()
  }
})
