import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { loadConfig } from '../../src/cli/serve.js'
import type { Running } from '../../src/main/serve.js'
import { getJson, load, request, runCli, sleep, startCli, startServer } from '../support/helpers.js'

describe('the baseline listener (BASELINE_PORT)', () => {
  let pm: Running
  let main: string
  let base: string
  before(async () => {
    pm = await startServer({ delayUs: 0, baselinePort: 0 })
    assert.ok(pm.baseline !== null)
    main = pm.url
    base = pm.baseline.url
    assert.notEqual(pm.baseline.port, pm.port)
  })
  after(async () => { await pm.shutdown() })

  test('each listener counts only its own traffic, in requests, samples, status codes and hops', async () => {
    await request(`${main}/stats/reset`, { method: 'POST' })
    const [toMain, toBase] = await Promise.all([
      load(`${main}/?delay=0`, 3000, 20, { headers: { 'x-forwarded-for': '10.0.0.1' } }),
      load(`${base}/?delay=0&status=503:100`, 2000, 20)
    ])
    assert.deepEqual([...toMain], [[200, 3000]])
    assert.deepEqual([...toBase], [[503, 2000]])
    const s = await getJson(`${main}/stats`)
    assert.equal(s.requests, 3000)
    assert.equal(s.samples, 3000)
    assert.equal(s.errors, 0)
    assert.equal(s.status_codes['2xx'], 3000)
    assert.equal(s.requests_via_proxy, 3000)
    assert.equal(s.requests_by_hop_count['1'], 3000)
    const b = s.baseline
    assert.equal(b.port, pm.baseline?.port)
    assert.equal(b.requests, 2000)
    assert.equal(b.samples, 2000, 'every baseline sample reached its own histogram')
    assert.equal(b.samples_dropped, 0)
    assert.equal(b.errors, 2000)
    assert.equal(b.success_rate_percent, 0)
    assert.equal(b.status_codes['5xx'], 2000)
    assert.equal(b.status_codes['2xx'], 0)
    assert.equal(b.requests_via_proxy, 0)
    assert.equal(b.requests_by_hop_count['0'], 2000)
    assert.equal(b.window.samples, 2000)
    assert.ok(b.p50_latency_ms >= 0 && b.max_latency_ms > 0 && b.p50_latency_ms <= b.p99_latency_ms && b.p99_latency_ms <= b.max_latency_ms)
    assert.ok(b.requests_per_second > 0 && b.avg_requests_per_second > 0)
  })

  test('the baseline has the same latency and request keys as the main document', async () => {
    const s = await getJson(`${main}/stats`)
    const keys = ['requests', 'errors', 'requests_per_second', 'success_rate_percent', 'avg_latency_ms', 'p50_latency_ms',
      'p90_latency_ms', 'p95_latency_ms', 'p99_latency_ms', 'p999_latency_ms', 'min_latency_ms', 'max_latency_ms', 'samples',
      'samples_dropped', 'samples_clamped', 'avg_requests_per_second', 'window', 'status_codes', 'avg_proxy_hops',
      'requests_via_proxy', 'requests_by_hop_count', 'unmeasured_requests']
    for (const k of keys) {
      assert.ok(k in s, `main ${k}`)
      assert.ok(k in s.baseline, `baseline ${k}`)
    }
    assert.deepEqual(Object.keys(s.baseline.window), Object.keys(s.window))
  })

  test('the delay applies on both; /stats answers on both ports; a reset zeroes both', async () => {
    await request(`${main}/stats/reset`, { method: 'POST' })
    await load(`${main}/?delay=0`, 50, 5)
    await load(`${base}/?delay=50ms`, 40, 5)
    const fromBase = await getJson(`${base}/stats`)
    assert.equal(fromBase.requests, 50)
    assert.equal(fromBase.baseline.requests, 40)
    assert.ok(fromBase.baseline.min_latency_ms >= 50, `baseline min ${fromBase.baseline.min_latency_ms}`)
    assert.ok(fromBase.min_latency_ms < 50, 'the main listener\'s requests had no delay')
    assert.equal(fromBase.unmeasured_requests, 0, 'the /stats request is not counted on the main listener...')
    assert.equal(fromBase.baseline.unmeasured_requests, 1, '...but as unmeasured on the baseline listener it came in on')
    assert.equal((await request(`${base}/readyz`)).status, 200)
    const r = await request(`${base}/stats/reset`, { method: 'POST' })
    assert.equal(r.status, 200)
    const s = await getJson(`${main}/stats`)
    assert.equal(s.requests, 0)
    assert.equal(s.samples, 0)
    assert.equal(s.baseline.requests, 0)
    assert.equal(s.baseline.samples, 0)
    assert.equal(s.baseline.window.samples, 0)
    assert.equal(s.baseline.p50_latency_ms, null)
  })
})

test('without BASELINE_PORT there is no second listener and /stats says baseline: null', async () => {
  const pm = await startServer({ delayUs: 0 })
  try {
    assert.equal(pm.baseline, null)
    const s = await getJson(`${pm.url}/stats`)
    assert.equal(s.baseline, null)
  } finally {
    await pm.shutdown()
  }
})

test('BASELINE_PORT and --baseline-port: off, a port, refused values', async () => {
  assert.equal(loadConfig([], {}).baselinePort, null)
  assert.equal(loadConfig([], { BASELINE_PORT: 'off' }).baselinePort, null)
  assert.equal(loadConfig([], { BASELINE_PORT: '8081' }).baselinePort, 8081)
  assert.equal(loadConfig(['--baseline-port', '9091'], { BASELINE_PORT: '8081' }).baselinePort, 9091)
  assert.throws(() => loadConfig([], { BASELINE_PORT: 'yes' }), { message: /^BASELINE_PORT: "yes" is not a port number from 0 to 65535, or off/ })
  assert.throws(() => loadConfig(['--port', '8080', '--baseline-port', '8080']), { message: /^BASELINE_PORT: must differ from PORT/ })
  const r = await runCli(['serve', '--baseline-port', '70000'])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /BASELINE_PORT: "70000" is not a port number/)
  const help = await runCli(['serve', '--help'])
  assert.match(help.stdout, /--baseline-port\s+BASELINE_PORT\s+default off/)
})

test('the CLI opens both listeners, and SIGTERM closes both with exit 0', async () => {
  const pm = await startCli(['serve', '--delay-ms', '0', '--baseline-port', '0'])
  let m: RegExpExecArray | null = null
  for (let i = 0; i < 100 && m === null; i++) {
    m = /baseline listener on (http:\/\/\S+)/.exec(pm.output())
    if (m === null) await sleep(20)
  }
  assert.ok(m !== null, pm.output())
  const base = m[1] as string
  assert.equal((await request(`${base}/?delay=0`)).status, 200)
  assert.equal((await getJson(`${pm.url}/stats`)).baseline.requests, 1)
  pm.child.kill('SIGTERM')
  assert.equal(await pm.exit, 0)
  await assert.rejects(request(`${base}/livez`), 'the baseline listener is closed too')
})
