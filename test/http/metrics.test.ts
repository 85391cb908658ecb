import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { DEFAULT_BUCKETS_US } from '../../src/shared/config.js'
import { create } from '../../src/shared/layout.js'
import { MetricsExporter } from '../../src/main/metrics.js'
import { negotiate } from '../../src/main/metrics-format.js'
import { HistogramPool } from '../../src/main/pool.js'
import type { Running } from '../../src/main/serve.js'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { decodeFamilies, PROTOBUF_ACCEPT } from '../support/exposition.js'
import { fixturePod, getJson, load, request, runTool, sleep, startServer } from '../support/helpers.js'

// What Prometheus 2.x sends when it scrapes, without native histograms and with them.
const PROMETHEUS_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
const PROMETHEUS_PROTOBUF_ACCEPT = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,' + PROMETHEUS_ACCEPT.replace('version=1.0.0,', 'version=1.0.0;q=0.8,')

/** Samples of an exposition, keyed `name{labels}` as printed. */
function samples (body: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of body.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line)
    if (m !== null) out.set(m[1] as string, Number(m[2]))
  }
  return out
}

const le = (us: number): string => `podmeter_request_duration_seconds_bucket{le="${us / 1e6}"}`

describe('GET /metrics', () => {
  let pm: Running
  let served: Map<number, number>
  before(async () => {
    pm = await startServer({ delayUs: 0 })
    served = await load(`${pm.url}/?delay=200us:30,1ms:30,3ms:10&status=503:10`, 1500, 20)
  })
  after(async () => { await pm.shutdown() })

  test('a live scrape passes promtool check metrics', async () => {
    const r = await request(`${pm.url}/metrics`)
    assert.equal(r.status, 200)
    assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8')
    const check = await runTool('promtool', ['check', 'metrics'], r.body)
    assert.equal(check.stdout + check.stderr, '', 'no lint findings')
    assert.equal(check.code, 0)
  })

  test('le buckets are the HDR counts at each boundary; +Inf, _count and _sum agree with the histogram', async () => {
    const body = (await request(`${pm.url}/metrics`)).body
    const h = await getJson(`${pm.url}/stats/histogram`)
    const m = samples(body)
    assert.equal(h.count, 1500)
    for (const b of DEFAULT_BUCKETS_US) {
      // Every distribution row is one HDR bucket; it counts at `le` when it starts at or below it.
      const expected = h.distribution.filter((r: { from_us: number }) => r.from_us <= b).reduce((n: number, r: { count: number }) => n + r.count, 0)
      assert.equal(m.get(le(b)), expected, `le=${b} µs`)
    }
    assert.equal(m.get('podmeter_request_duration_seconds_bucket{le="+Inf"}'), 1500)
    assert.equal(m.get('podmeter_request_duration_seconds_count'), 1500)
    const sum = m.get('podmeter_request_duration_seconds_sum') as number
    assert.ok(Math.abs(sum - (h.mean_us * 1500) / 1e6) < 1e-5, `_sum ${sum} is the exact sum of the samples`)
    // Buckets are cumulative.
    const values = DEFAULT_BUCKETS_US.map((b) => m.get(le(b)) as number)
    for (let i = 1; i < values.length; i++) assert.ok((values[i] as number) >= (values[i - 1] as number))
    assert.ok((m.get(le(1000)) as number) < 1500 && (m.get(le(150)) as number) < (m.get(le(1000)) as number), 'the delays spread over the buckets')
  })

  test('counters by status code, mesh mode, no istio_ names', async () => {
    const m = samples((await request(`${pm.url}/metrics`)).body)
    assert.equal(m.get('podmeter_requests_total{code="200"}'), served.get(200))
    assert.equal(m.get('podmeter_requests_total{code="503"}'), served.get(503))
    assert.equal(m.get('podmeter_requests_aborted_total'), 0)
    assert.equal([...m.keys()].some((k) => k.includes('code="aborted"')), false, 'code carries HTTP status codes only')
    assert.equal(m.get('podmeter_samples_dropped_total'), 0)
    assert.equal(m.get('podmeter_requests_by_hops_total{hops="0"}'), 1500)
    assert.equal(m.get('podmeter_mesh_info{mode="none"}'), 1)
    assert.ok((m.get('process_cpu_user_seconds_total') as number) > 0, 'prom-client default metrics are there')
    // The event loop delay stats are there once the loop was sampled since the last scrape (every 10 ms).
    await sleep(100)
    const later = samples((await request(`${pm.url}/metrics`)).body)
    assert.ok(Number.isFinite(later.get('nodejs_eventloop_lag_p99_seconds')), 'event loop delay sampled')
    for (const name of m.keys()) assert.ok(!name.startsWith('istio_'), name)
  })

  test('OpenMetrics when the scraper asks for it; the text format keeps _total afterwards', async () => {
    const om = await request(`${pm.url}/metrics`, { headers: { accept: PROMETHEUS_ACCEPT } })
    assert.equal(om.headers['content-type'], 'application/openmetrics-text; version=1.0.0; charset=utf-8')
    assert.ok(om.body.endsWith('# EOF\n'))
    assert.match(om.body, /^# TYPE podmeter_requests counter$/m)
    assert.match(om.body, /^podmeter_requests_total\{code="200"\} \d+$/m)
    for (const line of om.body.split('\n')) assert.ok(!/^(# TYPE )?istio_/.test(line), line)
    // prom-client renames counters in place in OpenMetrics mode; the text registry must not see that.
    const text = await request(`${pm.url}/metrics`, { headers: { accept: 'text/plain' } })
    assert.match(text.body, /^# TYPE podmeter_requests_total counter$/m)
    assert.match(text.body, /^process_cpu_user_seconds_total \S+$/m)
    assert.equal((await runTool('promtool', ['check', 'metrics'], text.body)).code, 0)
  })

  test('/metrics is not measured', async () => {
    const before = (await getJson(`${pm.url}/stats`)).requests
    await request(`${pm.url}/metrics`)
    assert.equal((await getJson(`${pm.url}/stats`)).requests, before)
  })
})

test('Accept negotiation: the highest q, the earlier on a tie', () => {
  assert.equal(negotiate(PROMETHEUS_ACCEPT), 'openmetrics')
  assert.equal(negotiate(PROMETHEUS_PROTOBUF_ACCEPT), 'protobuf')
  assert.equal(negotiate('application/openmetrics-text'), 'openmetrics')
  assert.equal(negotiate(undefined), 'text')
  assert.equal(negotiate('*/*'), 'text')
  assert.equal(negotiate('text/plain;version=0.0.4'), 'text')
  assert.equal(negotiate('application/openmetrics-text;q=0.2,text/plain;q=0.9'), 'text')
  assert.equal(negotiate('application/openmetrics-text;q=0'), 'text')
  assert.equal(negotiate('text/plain, application/openmetrics-text'), 'text')
  // Protobuf only as the delimited MetricFamily stream.
  assert.equal(negotiate('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily'), 'text')
  assert.equal(negotiate('application/vnd.google.protobuf;proto=other.Message;encoding=delimited'), 'text')
  assert.equal(negotiate('application/vnd.google.protobuf; proto="io.prometheus.client.MetricFamily"; encoding=delimited;q=0.9,text/plain;q=0.5'), 'protobuf')
  assert.equal(negotiate('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text'), 'text')
  assert.equal(negotiate('x'.repeat(10_000)), 'text')
  // METRICS_PROTOBUF=off: the best of the rest.
  assert.equal(negotiate(PROMETHEUS_PROTOBUF_ACCEPT, false), 'openmetrics')
})

test('the sidecar memory gauge and mesh mode come from the stats context', async () => {
  const views = create({ ringCapacity: 1024, lowestUs: 1, highestUs: 60_000_000, digits: 3, windowSeconds: 10 })
  const pool = new HistogramPool(views, null, { drainIntervalMs: 50, statsTimeoutMs: 2000 })
  try {
    await pool.start()
    const sidecar: { bytes?: number } = {}
    const exporter = new MetricsExporter({
      stats: { views, mesh: () => ({ mode: 'sidecar', sidecarMemory: sidecar.bytes === undefined ? undefined : { allocated: 1, heapSize: sidecar.bytes, physical: undefined } }) },
      pool,
      bucketsUs: [100, 1000],
      nativeSchema: 8
    })
    let m = samples(String((await exporter.render(undefined)).body))
    assert.equal(m.has('podmeter_sidecar_memory_bytes'), false, 'absent while unknown')
    assert.equal(m.get('podmeter_mesh_info{mode="sidecar"}'), 1)
    assert.equal(m.get('podmeter_request_duration_seconds_bucket{le="0.0001"}'), 0)
    sidecar.bytes = 52_428_800
    m = samples(String((await exporter.render(undefined)).body))
    assert.equal(m.get('podmeter_sidecar_memory_bytes'), 52_428_800)
  } finally {
    await pool.close()
  }
})

// A fresh process: this one has loaded prom-client through the imports above.
test('prom-client loads on the first scrape; concurrent first scrapes in every format all answer', async () => {
  const src = (path: string): string => JSON.stringify(new URL(`../../src/${path}`, import.meta.url).href)
  const config = { host: '127.0.0.1', port: 0, ...fixturePod('none'), envoyAdmin: 'off', delayUs: 0 }
  const script = `
    import { createRequire } from 'node:module'
    const { serve } = await import(${src('main/serve.js')})
    const { DEFAULTS } = await import(${src('shared/config.js')})
    const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes('/node_modules/prom-client/'))
    const running = await serve({ ...DEFAULTS, ...${JSON.stringify(config)} })
    await running.ready
    for (let i = 0; i < 7; i++) await (await fetch(running.url + '/')).text()
    const before = loaded()
    const accepts = ${JSON.stringify([undefined, PROMETHEUS_ACCEPT, PROTOBUF_ACCEPT])}
    const answers = await Promise.all(Array.from({ length: 12 }, async (_, i) => {
      const accept = accepts[i % 3]
      const r = await fetch(running.url + '/metrics', { headers: accept === null ? {} : { accept } })
      return { status: r.status, type: r.headers.get('content-type'), body: Buffer.from(await r.arrayBuffer()).toString('base64') }
    }))
    process.stdout.write(JSON.stringify({ before, after: loaded(), answers }))
    await running.shutdown()
    process.exit(0)`
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { maxBuffer: 64 * 2 ** 20 })
  const { before, after, answers } = JSON.parse(stdout) as { before: boolean, after: boolean, answers: Array<{ status: number, type: string, body: string }> }
  assert.equal(before, false, 'not loaded before the first scrape')
  assert.equal(after, true)
  for (const [i, a] of answers.entries()) {
    assert.equal(a.status, 200, `scrape ${i}`)
    const body = Buffer.from(a.body, 'base64')
    if (i % 3 === 2) {
      assert.match(a.type, /^application\/vnd\.google\.protobuf/)
      const requests = decodeFamilies(body).find((f) => f.name === 'podmeter_requests_total')
      assert.equal(requests?.metric[0]?.counter?.value, 7)
    } else {
      assert.match(a.type, i % 3 === 0 ? /^text\/plain; version=0\.0\.4/ : /^application\/openmetrics-text/)
      // OpenMetrics names the counter family without _total, its samples with it.
      assert.equal(samples(body.toString()).get('podmeter_requests_total{code="200"}'), 7)
    }
  }
})
