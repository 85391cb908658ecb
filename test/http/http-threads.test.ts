// HTTP_THREADS=2: two threads accept on one port (reusePort), each counting
// on its own shard; every figure is their sum, exact; every other path is
// answered through the main thread. Needs Node 22.12+; older Node refuses
// the setting at start-up, which is tested instead.

import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { reusePortWorks } from '../../src/shared/config.js'
import type { Running } from '../../src/main/serve.js'
import { getJson, load, request, runCli, startCli, startServer } from '../support/helpers.js'

const supported = reusePortWorks()

test('HTTP_THREADS above 1 on a Node without reusePort: refused at start with what to do', { skip: supported && 'this Node has reusePort' }, async () => {
  const r = await runCli(['serve', '--host', '127.0.0.1', '--port', '0'], { HTTP_THREADS: '2' })
  assert.notEqual(r.code, 0)
  assert.match(r.stderr, /HTTP_THREADS: 2 threads share one port through listen\(\{ reusePort \}\), which needs Node 22\.12 or later/)
})

describe('HTTP_THREADS=2', { skip: !supported && `Node ${process.versions.node} has no reusePort` }, () => {
  let pm: Running
  before(async () => { pm = await startServer({ delayUs: 0, httpThreads: 2 }) })
  after(async () => { await pm?.shutdown() })

  test('both threads serve `/`; requests, samples and status codes are counted to the request', async () => {
    // Many short connections: the kernel spreads them over both listeners.
    const closing = await load(`${pm.url}/?status=503:10`, 400, 20, { headers: { connection: 'close' } })
    const kept = await load(`${pm.url}/`, 20_000, 100)
    const sent = [...closing.values(), ...kept.values()].reduce((a, b) => a + b, 0)
    assert.equal(sent, 20_400)
    const s = await getJson(`${pm.url}/stats`)
    assert.equal(s.requests, 20_400)
    assert.equal(s.samples, 20_400)
    assert.equal(s.samples_dropped, 0)
    assert.equal(s.status_codes['5xx'], closing.get(503) ?? 0)
    assert.equal(s.requests_by_http_thread.length, 2)
    assert.equal(s.requests_by_http_thread[0] + s.requests_by_http_thread[1], 20_400)
    assert.ok(s.requests_by_http_thread.every((n: number) => n > 0), `both threads served: ${String(s.requests_by_http_thread)}`)
    assert.equal(s.threads, 3, 'two HTTP threads and the histogram worker')
  })

  test('every other path answers the same on whichever thread a connection lands', async () => {
    const seen = new Set<string>()
    for (let i = 0; i < 40; i++) {
      const st = await request(`${pm.url}/stats`, { headers: { connection: 'close' } })
      assert.equal(st.status, 200)
      assert.equal(typeof JSON.parse(st.body).requests, 'number')
      const h = await request(`${pm.url}/debug/headers`, { headers: { connection: 'close', 'x-probe': `n${i}` } })
      assert.equal(h.status, 200)
      assert.equal(JSON.parse(h.body).headers['x-probe'], `n${i}`)
      const root = await request(`${pm.url}/`, { headers: { connection: 'close' } })
      assert.match(String(root.headers['server-timing']), /^app;dur=\d+\.\d{3}$/)
      const missing = await request(`${pm.url}/nope`, { headers: { connection: 'close' } })
      assert.equal(missing.status, 404)
      assert.equal(JSON.parse(missing.body).error.code, 'NOT_FOUND')
      const wrong = await request(`${pm.url}/stats`, { method: 'DELETE', headers: { connection: 'close' } })
      assert.equal(wrong.status, 405)
      seen.add(String(wrong.headers.allow))
    }
    assert.equal(seen.size, 1, `one Allow whichever thread answered: ${[...seen].join(' | ')}`)
    const m = await request(`${pm.url}/metrics`)
    assert.match(m.body, /^podmeter_requests_total\{code="200"\} \d+$/m)
  })

  test('a reset through either thread zeroes both shards', async () => {
    await load(`${pm.url}/`, 2000, 50, { headers: { connection: 'close' } })
    for (let i = 0; i < 10; i++) {
      const r = await request(`${pm.url}/stats/reset`, { method: 'POST', headers: { connection: 'close' } })
      assert.equal(r.status, 200)
    }
    const s = await getJson(`${pm.url}/stats`)
    assert.equal(s.requests, 0)
    assert.equal(s.samples, 0)
    assert.deepEqual(s.requests_by_http_thread, [0, 0])
  })
})

test('HTTP_THREADS=2 from the CLI: SIGTERM stops every thread, exit 0', { skip: !supported && `Node ${process.versions.node} has no reusePort` }, async () => {
  const pm = await startCli(['serve', '--delay-ms', '0'], { HTTP_THREADS: '2' })
  const served = await load(`${pm.url}/`, 500, 20, { headers: { connection: 'close' } })
  assert.deepEqual([...served], [[200, 500]])
  assert.equal((await getJson(`${pm.url}/stats`)).requests, 500)
  pm.child.kill('SIGTERM')
  assert.equal(await pm.exit, 0, pm.output())
})

/** A cgroup v2 namespace whose cpu.max is `cpuMax`: CGROUP_ROOT and PROC_SELF for the CLI. */
function quotaTree (cpuMax: string): { env: Record<string, string>, dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'podmeter-quota-'))
  mkdirSync(join(dir, 'sys'))
  mkdirSync(join(dir, 'proc-self'))
  writeFileSync(join(dir, 'sys', 'cpu.max'), `${cpuMax}\n`)
  writeFileSync(join(dir, 'proc-self', 'cgroup'), '0::/\n')
  return { dir, env: { CGROUP_ROOT: join(dir, 'sys'), PROC_SELF: join(dir, 'proc-self') } }
}

test('HTTP_THREADS unset (auto): as many threads as the CPU quota gives, one without a quota; the start-up line says why', async () => {
  // 2 CPUs of quota: 2 threads where reusePort works and 2 CPUs are there, else 1.
  const expected = supported ? Math.min(2, availableParallelism()) : 1
  for (const [cpuMax, threads, why] of [['200000 100000', expected, supported ? /a CPU quota of 2 in / : /has no listen/], ['max 100000', 1, supported ? /no cgroup CPU quota is set/ : /has no listen/]] as const) {
    const fixture = quotaTree(cpuMax)
    const pm = await startCli(['serve', '--delay-ms', '0'], fixture.env)
    try {
      assert.match(pm.output(), new RegExp(`${threads} HTTP threads? \\(auto: `), pm.output())
      assert.match(pm.output(), why)
      const served = await load(`${pm.url}/`, 400, 20, { headers: { connection: 'close' } })
      assert.deepEqual([...served], [[200, 400]])
      const s = await getJson(`${pm.url}/stats`)
      assert.equal(s.requests, 400)
      assert.equal(s.requests_by_http_thread.length, threads, `cpu.max ${cpuMax}`)
    } finally {
      pm.child.kill('SIGTERM')
      await pm.exit
      rmSync(fixture.dir, { recursive: true, force: true })
    }
  }
})
