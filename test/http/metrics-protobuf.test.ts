import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { MetricType, type MetricFamily } from '../../src/main/gen/io/prometheus/client/metrics_pb.js'
import type { Running } from '../../src/main/serve.js'
import { bucketIndex, ZERO_THRESHOLD } from '../../src/shared/native-histogram.js'
import { decodeFamilies, PROTOBUF_ACCEPT, textSamples } from '../support/exposition.js'
import { getJson, load, request, startServer } from '../support/helpers.js'

const TYPE_NAMES: Record<string, MetricType> = { counter: MetricType.COUNTER, gauge: MetricType.GAUGE, histogram: MetricType.HISTOGRAM, summary: MetricType.SUMMARY, untyped: MetricType.UNTYPED }

async function scrape (url: string, accept: string): Promise<{ type: string, body: Buffer }> {
  const r = await fetch(`${url}/metrics`, { headers: { accept } })
  assert.equal(r.status, 200)
  return { type: r.headers.get('content-type') ?? '', body: Buffer.from(await r.arrayBuffer()) }
}

/** Each bucket's index and count, from a native histogram's spans and deltas. */
function nativeCounts (h: NonNullable<MetricFamily['metric'][number]['histogram']>): Map<number, number> {
  const out = new Map<number, number>()
  let index = 0
  let count = 0
  let d = 0
  for (const span of h.positiveSpan) {
    index += span.offset
    for (let j = 0; j < span.length; j++) {
      count += Number(h.positiveDelta[d++])
      assert.ok(count >= 0, 'no bucket below zero')
      if (count > 0) out.set(index, count)
      index++
    }
  }
  assert.equal(d, h.positiveDelta.length, 'a delta for each bucket the spans cover')
  return out
}

const latency = (families: MetricFamily[]): NonNullable<MetricFamily['metric'][number]['histogram']> => {
  const f = families.find((x) => x.name === 'podmeter_request_duration_seconds')
  assert.ok(f !== undefined && f.type === MetricType.HISTOGRAM)
  assert.equal(f.metric.length, 1)
  return f.metric[0]?.histogram as NonNullable<MetricFamily['metric'][number]['histogram']>
}

/** Figures a scrape itself moves: it is an unmeasured request on a connection of its own. */
const MOVING = new Set(['podmeter_unmeasured_requests_total', 'podmeter_connections_open'])

describe('GET /metrics in the protobuf format', () => {
  let pm: Running
  before(async () => {
    pm = await startServer({ delayUs: 0 })
    await load(`${pm.url}/?delay=200us:30,1ms:30,3ms:10,25ms:2&status=503:10`, 1500, 20)
  })
  after(async () => { await pm.shutdown() })

  test('answers the delimited MetricFamily stream with every family of the text format, same types, same values', async () => {
    const proto = await scrape(pm.url, PROTOBUF_ACCEPT + ';q=0.9,text/plain;q=0.5')
    assert.equal(proto.type, 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited')
    const families = decodeFamilies(proto.body)
    const text = (await scrape(pm.url, 'text/plain')).body.toString()
    const textTypes = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] as string, TYPE_NAMES[m[2] as string]]))
    assert.deepEqual(new Map(families.map((f) => [f.name, f.type])), textTypes)
    for (const f of families) assert.ok(f.help.length > 0, `${f.name} has help`)

    // PodMeter's counters and gauges do not move between the two scrapes (but for the scrape itself, unmeasured): equal to the sample.
    const t = textSamples(text)
    let compared = 0
    for (const f of families.filter((x) => x.name.startsWith('podmeter_') && x.type !== MetricType.HISTOGRAM)) {
      for (const m of f.metric) {
        const labels = m.label.map((l) => `${l.name}="${l.value}"`).join(',')
        const key = labels === '' ? f.name : `${f.name}{${labels}}`
        if (MOVING.has(f.name)) continue
        assert.equal(m.counter?.value ?? m.gauge?.value, t.get(key), key)
        compared++
      }
    }
    assert.ok(compared >= 15, `${compared} podmeter samples compared`)
    assert.equal(t.get('podmeter_requests_total{code="503"}') as number > 0, true)
  })

  test('the latency family has the classic buckets of the text format and native buckets that sum to the HDR total', async () => {
    const h = latency(decodeFamilies((await scrape(pm.url, PROTOBUF_ACCEPT)).body))
    const t = textSamples((await scrape(pm.url, 'text/plain')).body.toString())
    const hist = await getJson(`${pm.url}/stats/histogram`)
    assert.equal(Number(h.sampleCount), 1500)
    assert.equal(hist.count, 1500)
    assert.equal(h.sampleSum, t.get('podmeter_request_duration_seconds_sum'))
    assert.ok(h.bucket.length > 30)
    for (const b of h.bucket) assert.equal(Number(b.cumulativeCount), t.get(`podmeter_request_duration_seconds_bucket{le="${b.upperBound}"}`), `le=${b.upperBound}`)

    assert.equal(h.schema, 8)
    assert.equal(h.zeroThreshold, ZERO_THRESHOLD)
    const rows = hist.distribution as Array<{ from_us: number, count: number }>
    // Samples recorded as 0 µs (under a µs: immediate answers on a fast Node) are the zero bucket.
    const zero = rows.filter((r) => r.from_us === 0).reduce((n, r) => n + r.count, 0)
    assert.equal(Number(h.zeroCount), zero)
    const native = nativeCounts(h)
    assert.equal([...native.values()].reduce((a, b) => a + b, 0) + zero, 1500)
    // Each other HDR bucket of /stats/histogram, whole, in the native bucket that holds its value.
    const want = new Map<number, number>()
    for (const row of rows.filter((r) => r.from_us > 0)) {
      const k = bucketIndex(row.from_us / 1e6, 8)
      want.set(k, (want.get(k) ?? 0) + row.count)
    }
    assert.deepEqual([...native.entries()].sort((a, b) => a[0] - b[0]), [...want.entries()].sort((a, b) => a[0] - b[0]))
  })

  test('no NaN and no 9223372036-second event loop lag, even in back-to-back scrapes', async () => {
    for (let i = 0; i < 3; i++) {
      const [proto, text] = await Promise.all([scrape(pm.url, PROTOBUF_ACCEPT), scrape(pm.url, 'text/plain')])
      const plausible = (name: string, v: number): boolean => Number.isFinite(v) && (!name.startsWith('nodejs_eventloop_lag') || v < 60)
      for (const [key, value] of textSamples(text.body.toString())) assert.ok(plausible(key, value), `${key} ${value}`)
      for (const f of decodeFamilies(proto.body)) {
        for (const m of f.metric) {
          const v = m.counter?.value ?? m.gauge?.value ?? m.untyped?.value ?? 0
          assert.ok(plausible(f.name, v), `${f.name} ${v}`)
        }
      }
    }
  })
})

test('METRICS_PROTOBUF=off answers a protobuf-first scraper with its next choice', async () => {
  const pm = await startServer({ delayUs: 0, metricsProtobuf: false })
  try {
    const r = await scrape(pm.url, PROTOBUF_ACCEPT + ',application/openmetrics-text;version=1.0.0;q=0.8,text/plain;q=0.5')
    assert.match(r.type, /^application\/openmetrics-text/)
    assert.ok(r.body.toString().endsWith('# EOF\n'))
  } finally {
    await pm.shutdown()
  }
})

test('an idle server exposes an empty native histogram (zero threshold set, no buckets)', async () => {
  const pm = await startServer({ delayUs: 0 })
  try {
    const h = latency(decodeFamilies((await scrape(pm.url, PROTOBUF_ACCEPT)).body))
    assert.equal(Number(h.sampleCount), 0)
    assert.ok(h.zeroThreshold > 0, 'marks the histogram native without a sample')
    assert.equal(h.positiveSpan.length, 0)
    const r = await request(`${pm.url}/metrics`, { headers: { accept: 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=nonsense' } })
    assert.equal(r.status, 200)
    assert.match(String(r.headers['content-type']), /^text\/plain/)
    assert.equal(r.headers.vary, 'accept')
    assert.equal((await getJson(`${pm.url}/stats`)).requests, 0, 'scrapes are not measured')
  } finally {
    await pm.shutdown()
  }
})
