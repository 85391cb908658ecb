import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { Running } from '../../src/main/serve.js'
import { getJson, load, request, sleep, startCli, startServer } from '../support/helpers.js'

describe('GET / and /stats', () => {
  let pm: Running
  before(async () => { pm = await startServer({ delayUs: 0 }) })
  after(async () => { await pm.shutdown() })

  test('/stats.requests equals exactly what a concurrent client sent', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const counts = await load(`${pm.url}/?delay=0`, 20_000, 100)
    assert.deepEqual([...counts], [[200, 20_000]])
    const s = await getJson(`${pm.url}/stats`)
    assert.equal(s.requests, 20_000)
    assert.equal(s.samples, 20_000, 'every latency sample reached the histogram')
    assert.equal(s.samples_dropped, 0)
    assert.equal(s.errors, 0)
    assert.equal(s.success_rate_percent, 100)
    assert.equal(s.status_codes['2xx'], 20_000)
    assert.ok(s.p50_latency_ms >= 0 && s.p50_latency_ms < 50 && s.max_latency_ms > 0, `p50 ${s.p50_latency_ms}`)
    assert.ok(s.min_latency_ms <= s.p50_latency_ms && s.p50_latency_ms <= s.p99_latency_ms && s.p99_latency_ms <= s.max_latency_ms)
    assert.ok(s.requests_per_second > 0 && s.avg_requests_per_second > 0)
  })

  test('every key of the original is there, with its unit', async () => {
    const s = await getJson(`${pm.url}/stats`)
    const original = ['requests', 'errors', 'requests_per_second', 'success_rate_percent', 'avg_latency_ms', 'p50_latency_ms',
      'p95_latency_ms', 'p99_latency_ms', 'p999_latency_ms', 'min_latency_ms', 'max_latency_ms', 'memory_heap_mb', 'memory_sys_mb',
      'memory_total_alloc_mb', 'goroutines', 'gc_pause_ms', 'num_gc', 'uptime_seconds', 'avg_proxy_hops', 'proxy_detected',
      'istio_sidecar_detected', 'requests_via_proxy', 'service_mesh_mode', 'hostname', 'os', 'architecture', 'num_cpu',
      'kernel_version', 'total_memory_mb', 'available_memory_mb', 'total_disk_gb', 'available_disk_gb', 'disk_usage_percent']
    const added = ['samples_dropped', 'avg_requests_per_second', 'window', 'event_loop_utilization', 'event_loop_delay_p99_ms', 'cpu_user_seconds', 'cpu_system_seconds',
      'proxy_hop_count', 'service_mesh_hops', 'total_hop_count', 'requests_by_hop_count', 'mesh_evidence', 'waypoint_proxy_detected',
      'requests_with_envoy_headers', 'requests_with_tracing_headers', 'container_memory_working_set_mb']
    for (const key of [...original, ...added]) assert.ok(key in s, `missing ${key}`)
    assert.ok(s.memory_sys_mb > 10 && s.memory_sys_mb < 2000, 'memory_sys_mb is the RSS in MiB')
    assert.ok(s.memory_heap_mb > 1 && s.memory_heap_mb < s.memory_sys_mb)
    assert.equal(s.memory_total_alloc_mb, null, 'Node counts no allocated bytes: unknown, not made up')
    assert.ok(Number.isInteger(s.num_gc) && s.num_gc >= 0 && s.gc_pause_ms >= 0 && s.gc_pause_total_ms >= s.gc_pause_ms)
    assert.ok(Number.isInteger(s.uptime_seconds) && s.uptime_seconds >= 0 && s.uptime_seconds < 3600, 'whole seconds, as the original')
    assert.ok(s.uptime_ms > 0 && s.uptime_ms < 3_600_000)
    assert.equal(typeof s.kernel_version, 'string')
    assert.ok(s.num_cpu >= 1)
    assert.ok(s.event_loop_utilization >= 0 && s.event_loop_utilization <= 1)
    for (const k of ['seconds', 'requests_per_second', 'p50_ms', 'p90_ms', 'p95_ms', 'p99_ms', 'p999_ms']) assert.ok(k in s.window, `window.${k}`)
  })

  test('delay and status weighted lists show in percentiles and errors', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const counts = await load(`${pm.url}/?delay=1ms:90,400ms:10&status=503:20`, 1000, 50)
    const s = await getJson(`${pm.url}/stats`)
    const failed = counts.get(503) ?? 0
    assert.equal((counts.get(200) ?? 0) + failed, 1000)
    assert.ok(failed > 120 && failed < 280, `about 20 % got 503: ${failed}`)
    assert.equal(s.requests, 1000)
    assert.equal(s.errors, failed, 'errors are exactly the 503s the client saw')
    assert.equal(s.status_codes['5xx'], failed)
    // The entries are 400× apart: no scheduling noise moves the p50 from one to the other.
    assert.ok(s.p50_latency_ms >= 1 && s.p50_latency_ms < 400, `p50 ${s.p50_latency_ms} from the 1 ms entry`)
    assert.ok(s.p99_latency_ms >= 400, `p99 ${s.p99_latency_ms} from the 400 ms entry`)
    assert.ok(s.min_latency_ms >= 1, 'no delay is shorter than asked')
  })

  test('Server-Timing carries the service time in ms with µs resolution', async () => {
    const r = await request(`${pm.url}/?delay=250us`)
    assert.equal(r.status, 200)
    assert.equal(r.body, 'OK\n')
    assert.equal(r.headers['content-length'], '3')
    const m = /^app;dur=(\d+\.\d{3})$/.exec(String(r.headers['server-timing']))
    assert.ok(m !== null, String(r.headers['server-timing']))
    // In ms: at least the delay asked; far below what a µs misread would show.
    assert.ok(Number(m[1]) >= 0.25 && Number(m[1]) < 250, `dur ${m[1]}`)
    const slow = await request(`${pm.url}/?delay=30ms`)
    const dur = Number(/dur=([\d.]+)/.exec(String(slow.headers['server-timing']))?.[1])
    assert.ok(dur >= 30 && dur < 30_000, `dur ${dur}`)
  })

  test('HEAD / answers with headers only', async () => {
    const r = await request(`${pm.url}/`, { method: 'HEAD' })
    assert.equal(r.status, 200)
    assert.equal(r.headers['content-length'], '3')
    assert.equal(r.body, '')
  })

  test('the absolute form (GET http://host/path, as sent to a proxy) is served like the path', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const { port } = new URL(pm.url)
    const viaProxy = async (target: string): Promise<{ status: number, body: string }> => await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: target }, (res) => {
        let body = ''
        res.on('data', (c: Buffer) => { body += c.toString() })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      }).on('error', reject)
    })
    assert.equal((await viaProxy(`${pm.url}/?delay=0&status=503`)).status, 503)
    assert.equal((await viaProxy(`HTTP://127.0.0.1:${port}?delay=0`)).status, 200, 'no path is /, the scheme in any case')
    const stats = await viaProxy(`${pm.url}/stats`)
    assert.equal(stats.status, 200)
    const s = JSON.parse(stats.body)
    assert.equal(s.requests, 2)
    assert.equal(s.status_codes['5xx'], 1)
    assert.equal((await viaProxy('ftp://127.0.0.1/stats')).status, 404, 'only http and https')
  })

  test('probes, /stats and health endpoints are not measured', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    await request(`${pm.url}/`, { headers: { 'user-agent': 'kube-probe/1.31' } })
    for (const path of ['/stats', '/livez', '/readyz', '/healthz']) assert.equal((await request(pm.url + path)).status, 200, path)
    await request(`${pm.url}/`)
    const s = await getJson(`${pm.url}/stats`)
    assert.equal(s.requests, 1)
    assert.equal(s.samples, 1)
    assert.ok(s.unmeasured_requests >= 5)
  })

  test('POST /stats/reset zeroes counters and histograms', async () => {
    await load(`${pm.url}/?delay=0`, 200, 10)
    const r = await request(`${pm.url}/stats/reset`, { method: 'POST' })
    assert.equal(r.status, 200)
    const s = await getJson(`${pm.url}/stats`)
    assert.equal(s.requests, 0)
    assert.equal(s.errors, 0)
    assert.equal(s.samples, 0)
    assert.equal(s.p50_latency_ms, null)
    assert.equal(s.window.samples, 0)
    const wrong = await request(`${pm.url}/stats/reset`)
    assert.equal(wrong.status, 405)
    assert.equal(wrong.headers.allow, 'POST')
  })

  test('bad input gets 400/404/405 with a JSON error body', async () => {
    const cases: Array<[string, string, number, string]> = [
      ['GET', '/?delay=abc', 400, 'INVALID_DELAY'],
      ['GET', '/?delay=-5', 400, 'INVALID_DELAY'],
      ['GET', '/?delay=1e309', 400, 'INVALID_DELAY'],
      ['GET', '/?delay=NaN', 400, 'INVALID_DELAY'],
      ['GET', '/?delay=20000', 400, 'DELAY_TOO_LARGE'],
      ['GET', '/?delay=1ms:60,2ms:60', 400, 'INVALID_WEIGHTS'],
      ['GET', '/?delay=1ms:0', 400, 'INVALID_WEIGHTS'],
      ['GET', '/?status=99', 400, 'INVALID_STATUS'],
      ['GET', '/?status=600', 400, 'INVALID_STATUS'],
      ['GET', '/?status=abc:10', 400, 'INVALID_STATUS'],
      ['GET', '/?delay=%E0%A4%A', 400, 'INVALID_QUERY'],
      ['GET', '/?delay=1ms&delay=2ms', 400, 'INVALID_QUERY'],
      ['GET', '/stats?format=json&format=hgrm', 400, 'INVALID_QUERY'],
      ['GET', '/nope', 404, 'NOT_FOUND'],
      ['DELETE', '/', 405, 'METHOD_NOT_ALLOWED'],
      ['POST', '/stats', 405, 'METHOD_NOT_ALLOWED']
    ]
    for (const [method, path, status, code] of cases) {
      const r = await request(pm.url + path, { method })
      assert.equal(r.status, status, `${method} ${path}`)
      assert.match(String(r.headers['content-type']), /^application\/json/)
      assert.equal(r.headers['x-content-type-options'], 'nosniff')
      const body = JSON.parse(r.body)
      assert.equal(body.error.code, code, `${method} ${path}`)
      assert.ok(body.error.message.length > 10)
      if (status === 405) assert.ok(r.headers.allow !== undefined)
    }
  })

  test('a client that goes away mid-delay is counted as aborted, not left in flight', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const port = new URL(pm.url).port
    const socket = net.connect(Number(port), '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    socket.write('GET /?delay=5s HTTP/1.1\r\nHost: x\r\n\r\n')
    await sleep(100)
    socket.destroy()
    await sleep(100)
    const s = await getJson(`${pm.url}/stats`)
    assert.equal(s.requests, 1)
    assert.equal(s.errors, 1)
    assert.equal(s.status_codes.aborted, 1)
    assert.equal(s.samples, 0, 'an aborted request has no service time')
  })
})

describe('shutdown', () => {
  test('SIGTERM with requests in flight: none fails, connections close, exit 0', async () => {
    const pm = await startCli(['serve', '--delay-ms', '300'])
    const agent = new http.Agent({ keepAlive: true, maxSockets: 20 })
    // Warm the keep-alive connections, then start 20 slow requests.
    await Promise.all(Array.from({ length: 20 }, async () => await request(`${pm.url}/?delay=0`, { agent })))
    const inFlight = Array.from({ length: 20 }, async () => await request(`${pm.url}/`, { agent }))
    await sleep(100)
    pm.child.kill('SIGTERM')
    const replies = await Promise.all(inFlight)
    for (const r of replies) {
      assert.equal(r.status, 200)
      assert.equal(r.body, 'OK\n')
      assert.equal(r.headers.connection, 'close', 'responses during shutdown close their connection')
    }
    assert.equal(await pm.exit, 0)
    await assert.rejects(request(`${pm.url}/livez`), 'no longer accepting')
    agent.destroy()
  })
})
