import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { Running } from '../../src/main/serve.js'
import type { LoadResult } from '../../src/cli/result.js'
import { decode } from '../../src/shared/hdr.js'
import { freePort, getJson, request, runCli, sleep, startCli, startServer, tempFiles, waitFor } from '../support/helpers.js'
import { delayProxy, type Proxy, startNginx } from '../support/proxies.js'

// Every file a test writes, in one directory removed when the file ends.
const tmp = tempFiles('load')

/** Runs `podmeter load -q ARGS -o FILE`, expects exit `code` (1: nothing answered), returns the result. */
async function load (args: string[], code = 0): Promise<LoadResult> {
  const out = tmp(`load-${Math.random().toString(36).slice(2)}.json`)
  // Cold unless the test asks for a warm-up: the server's counts then equal the client's.
  const warmup = args.includes('--warmup') ? [] : ['--warmup', '0']
  const r = await runCli(['load', '-q', ...warmup, ...args, '-o', out])
  assert.equal(r.code, code, r.stderr + r.stdout)
  if (code === 1) assert.match(r.stderr, /no request was answered/)
  return JSON.parse(await readFile(out, 'utf8')) as LoadResult
}

describe('podmeter load against real PodMeter servers', () => {
  let pm: Running
  before(async () => { pm = await startServer({ delayUs: 0 }) })
  after(async () => { await pm.shutdown() })

  test('counts match the server\'s /stats, and server time + overhead = end to end', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const r = await load(['-n', '3000', '-c', '8', `${pm.url}/?delay=0&status=503:10`])
    const s = await getJson(`${pm.url}/stats`)
    assert.equal(r.sent, 3000)
    assert.equal(r.responses, 3000)
    assert.equal(r.errors, 0)
    assert.equal(s.requests, 3000, 'the server counted exactly what the client sent')
    assert.equal(r.status_codes['503'], s.status_codes['5xx'])
    assert.equal(r.status_codes['200'], s.status_codes['2xx'])
    assert.ok((r.status_codes['503'] ?? 0) > 100, 'about 10 % got 503')
    assert.equal(r.connections_opened, 8)
    assert.equal(r.bytes_received, (r.status_codes['200'] ?? 0) * 3 + (r.status_codes['503'] ?? 0) * 'Service Unavailable\n'.length)
    const { e2e, server, overhead } = r.latency_ms
    assert.ok(e2e !== undefined && server !== undefined && overhead !== undefined)
    assert.equal(r.server_timing.missing, 0)
    assert.equal(r.server_timing.overhead_negative, 0, 'the server\'s interval lies within the client\'s')
    for (const h of [e2e, server, overhead]) assert.equal(h.count, 3000)
    // Per request e2e = server + overhead in integer µs, so the means add up (each rounded to 0.1 µs).
    assert.ok(Math.abs((e2e.mean as number) - (server.mean as number) - (overhead.mean as number)) <= 0.0002, JSON.stringify(r.latency_ms))
    assert.ok((e2e.percentiles['50'] as number) >= (server.percentiles['50'] as number))
    assert.equal(decode(r.histograms.e2e as string, 'e2e').totalCount, 3000)
    assert.equal(typeof r.target_stats?.service_mesh_mode, 'string')
    assert.ok((r.target_stats?.memory_sys_mb as number) > 10)
  })

  test('warm-up requests are sent but not measured; -d bounds the run', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const r = await load(['-d', '0.5s', '--warmup', '300ms', '-c', '2', `${pm.url}/?delay=1ms`])
    const s = await getJson(`${pm.url}/stats`)
    assert.ok(r.responses > 20, `answered ${r.responses}`)
    assert.ok(s.requests > r.responses, `server saw the warm-up too: ${s.requests} > ${r.responses}`)
    assert.ok(r.duration_seconds >= 0.5 && r.duration_seconds < 5, `measured ${r.duration_seconds} s`)
    assert.equal(r.warmup_seconds, 0.3)
  })

  test('errors by kind: refused, timeout, reset', async () => {
    const closed = await freePort()
    const refused = await load(['-n', '20', '-c', '2', '--no-stats', `http://127.0.0.1:${closed}/`], 1)
    assert.equal(refused.errors, 20)
    assert.equal(refused.error_kinds.refused, 20)
    assert.equal(refused.responses, 0)

    const timeout = await load(['-n', '4', '-c', '2', '--timeout', '200ms', `${pm.url}/?delay=3s`], 1)
    assert.equal(timeout.error_kinds.timeout, 4)
    assert.equal(timeout.responses, 0)

    const rude = net.createServer((s) => s.on('data', () => s.resetAndDestroy()))
    await new Promise<void>((resolve) => rude.listen(0, '127.0.0.1', resolve))
    const reset = await load(['-n', '10', '-c', '1', '--no-stats', `http://127.0.0.1:${(rude.address() as net.AddressInfo).port}/`], 1)
    rude.close()
    assert.equal(reset.error_kinds.reset, 10, JSON.stringify(reset.error_examples))
  })

  test('open loop: a 1 s stall shows in the corrected p99, not in the uncorrected one', async () => {
    const stalled = await startCli(['serve', '--delay-ms', '0'])
    try {
      const out = tmp('stall.json')
      const run = runCli(['load', '-q', '--warmup', '0', '--qps', '200', '-d', '3s', '-c', '2', '--no-stats', '-o', out, `${stalled.url}/`])
      // Stopped once the load is under way (counted at the server, not timed): the stall falls inside the run.
      await waitFor('the load under way', async () => ((await getJson(`${stalled.url}/stats`)).requests as number) >= 40, 30_000)
      stalled.child.kill('SIGSTOP')
      await sleep(1000)
      stalled.child.kill('SIGCONT')
      const done = await run
      assert.equal(done.code, 0, done.stderr)
      const r = JSON.parse(await readFile(out, 'utf8')) as LoadResult
      assert.equal(r.mode, 'open')
      assert.equal(r.requested_rate, 200)
      assert.equal(r.schedule?.due, 600)
      assert.ok(r.sent >= 540, `sent ${r.sent} of the 600 due: the backlog of the stall went out after it`)
      assert.equal(r.responses, r.sent)
      const corrected = r.latency_ms.e2e?.percentiles['99'] as number
      const uncorrected = r.latency_ms.e2e_uncorrected?.percentiles['99'] as number
      assert.ok(corrected >= 700, `corrected p99 ${corrected} ms shows the 1 s stall`)
      assert.ok(uncorrected < 300, `uncorrected p99 ${uncorrected} ms hides it: only the 2 requests in flight waited`)
      assert.ok((r.latency_ms.e2e_uncorrected?.max as number) >= 700, 'the requests in flight did wait')
      assert.match(done.stdout, /end to end, uncorrected/)
    } finally {
      stalled.child.kill('SIGCONT')
      stalled.child.kill('SIGTERM')
      await stalled.exit
    }
  })
})

describe('through a real nginx', () => {
  // The hop's 50 ms stand far above any scheduling noise, and the server
  // answers at delay=0: the assertions hold on a busy machine.
  test('a hop that adds 50 ms lands in the overhead, not in the server time', async () => {
    const pm = await startServer({ delayUs: 0 })
    const direct = await delayProxy(pm.port, 0)
    const delayed = await delayProxy(pm.port, 50)
    const nginx: Proxy[] = []
    try {
      nginx.push(await startNginx(`127.0.0.1:${direct.port}`, 'plain'), await startNginx(`127.0.0.1:${delayed.port}`, 'plain'))
      const [fastNginx, slowNginx] = nginx as [Proxy, Proxy]
      const fast = await load(['-n', '60', '-c', '2', '--no-stats', `${fastNginx.url}/?delay=0`])
      const slow = await load(['-n', '60', '-c', '2', '--no-stats', `${slowNginx.url}/?delay=0`])
      for (const r of [fast, slow]) {
        assert.equal(r.responses, 60)
        assert.equal(r.status_codes['200'], 60)
        assert.equal(r.server_timing.missing, 0, 'nginx passes Server-Timing through')
      }
      const p50 = (r: LoadResult, name: 'overhead' | 'server'): number => r.latency_ms[name]?.percentiles['50'] as number
      // A timer of 50 ms may fire up to 1 ms early on libuv's millisecond clock.
      assert.ok(p50(slow, 'overhead') >= 49, `the hop's 50 ms are in the overhead: p50 ${p50(slow, 'overhead')} ms`)
      assert.ok(p50(slow, 'server') < 25, `and not in the server time: p50 ${p50(slow, 'server')} ms (direct: ${p50(fast, 'server')} ms)`)
    } finally {
      await Promise.all(nginx.map(async (p) => await p.stop()))
      await direct.close()
      await delayed.close()
      await pm.shutdown()
    }
  })
})
