import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { decodeFromCompressedBase64, Float64Histogram, type JsHistogram } from 'hdr-histogram-js'
import type { Running } from '../../src/main/serve.js'
import { getJson, load, request, startServer } from '../support/helpers.js'

interface Row { from_us: number, to_us: number, count: number, percentile: number }

const decode = (hdr: string): JsHistogram => decodeFromCompressedBase64(hdr, 64) as JsHistogram

describe('/stats ?percentiles= and ?window=, /stats/histogram', () => {
  let a: Running
  let b: Running
  before(async () => {
    [a, b] = await Promise.all([startServer({ delayUs: 0 }), startServer({ delayUs: 0 })])
    await Promise.all([
      load(`${a.url}/?delay=300us:50,2ms:20`, 1000, 20),
      load(`${b.url}/?delay=1ms:50,5ms:10`, 700, 20)
    ])
  })
  after(async () => { await Promise.all([a.shutdown(), b.shutdown()]) })

  test('percentiles you list, in ms, in your order, over the lifetime by default', async () => {
    const s = await getJson(`${a.url}/stats?percentiles=99,50,99.99,100`)
    assert.deepEqual(Object.keys(s.percentiles), ['p99', 'p50', 'p99_99', 'p100'])
    assert.equal(s.percentiles.p50, s.p50_latency_ms, 'the same rule as p50_latency_ms')
    assert.equal(s.percentiles.p99, s.p99_latency_ms)
    assert.equal(s.percentiles.p100, s.max_latency_ms)
    assert.ok(s.percentiles.p99_99 <= s.percentiles.p100 && s.percentiles.p99_99 >= s.percentiles.p99)
    assert.equal(s.percentiles_window, 'lifetime')
    assert.equal(s.percentiles_samples, 1000)
    assert.equal(s.requests, 1000, 'every other key is still there')
    const plain = await getJson(`${a.url}/stats`)
    assert.equal('percentiles' in plain, false, 'nothing extra unless asked')
  })

  test('a window covers the last seconds; the whole window agrees with the window block', async () => {
    const s = await getJson(`${a.url}/stats?window=10&percentiles=50,99`)
    assert.equal(s.percentiles_window, 10)
    assert.equal(s.percentiles_samples, s.window.samples)
    assert.equal(s.percentiles.p50, s.window.p50_ms)
    assert.equal(s.percentiles.p99, s.window.p99_ms)
    const alone = await getJson(`${a.url}/stats?window=3`)
    assert.deepEqual(Object.keys(alone.percentiles), ['p50', 'p90', 'p95', 'p99', 'p99_9'])
    assert.ok(alone.percentiles_samples <= 1000)
  })

  test('the histogram: exact figures, a distribution, and an encoding that decodes to the same counts', async () => {
    const h = await getJson(`${a.url}/stats/histogram`)
    const s = await getJson(`${a.url}/stats`)
    assert.equal(h.window, 'lifetime')
    assert.equal(h.unit, 'us')
    assert.equal(h.count, 1000)
    assert.equal(h.min_us / 1000, s.min_latency_ms)
    assert.equal(h.max_us / 1000, s.max_latency_ms)
    assert.match(h.hdr, /^HISTFAAA/)
    const rows = h.distribution as Row[]
    assert.equal(rows.reduce((n, r) => n + r.count, 0), 1000)
    assert.equal(rows.at(-1)?.percentile, 100)
    const decoded = decode(h.hdr)
    assert.equal(decoded.totalCount, 1000)
    for (const r of rows) assert.equal(decoded.getCountAtIndex(decoded.countsArrayIndex(r.from_us)), r.count, `bucket ${r.from_us}–${r.to_us} µs`)
    assert.equal(Math.min(decoded.getValueAtPercentile(99), h.max_us) / 1000, s.p99_latency_ms, 'p99 from the encoding is /stats p99')
    const win = await getJson(`${a.url}/stats/histogram?window=10`)
    assert.equal(win.window, 10)
    assert.equal(decode(win.hdr).totalCount, win.count)
  })

  test('merging two servers\' encodings equals the histogram of the union', async () => {
    const [ha, hb] = await Promise.all([getJson(`${a.url}/stats/histogram`), getJson(`${b.url}/stats/histogram`)])
    const merged = decode(ha.hdr)
    merged.add(decode(hb.hdr))
    // The union, recorded afresh from both servers' per-bucket counts.
    const union = new Float64Histogram(1, 60_000_000, 3)
    for (const r of [...ha.distribution, ...hb.distribution] as Row[]) union.recordValueWithCount(r.from_us, r.count)
    assert.equal(merged.totalCount, 1700)
    for (let i = 0; i < union.countsArrayLength; i++) assert.equal(merged.getCountAtIndex(i), union.getCountAtIndex(i), `index ${i}`)
    for (const p of [50, 90, 99, 99.9]) assert.equal(merged.getValueAtPercentile(p), union.getValueAtPercentile(p), `p${p}`)
    assert.equal(merged.maxValue, Math.max(decode(ha.hdr).maxValue, decode(hb.hdr).maxValue))
  })

  test('?format=hgrm is the .hgrm text', async () => {
    const r = await request(`${a.url}/stats/histogram?format=hgrm`)
    assert.equal(r.status, 200)
    assert.match(String(r.headers['content-type']), /^text\/plain/)
    assert.match(r.body, /^ {7}Value {5}Percentile TotalCount 1\/\(1-Percentile\)\n/)
    assert.match(r.body, /Total count {4}= +1000\]/)
  })

  test('bad percentiles, window or format get 400 with the error body', async () => {
    const cases: Array<[string, string]> = [
      ['/stats?percentiles=0', 'INVALID_PERCENTILES'],
      ['/stats?percentiles=101', 'INVALID_PERCENTILES'],
      ['/stats?percentiles=50,abc', 'INVALID_PERCENTILES'],
      ['/stats?percentiles=', 'INVALID_PERCENTILES'],
      [`/stats?percentiles=${Array.from({ length: 33 }, (_, i) => String(i + 1)).join(',')}`, 'INVALID_PERCENTILES'],
      ['/stats?window=0', 'INVALID_WINDOW'],
      ['/stats?window=11', 'INVALID_WINDOW'],
      ['/stats?window=forever', 'INVALID_WINDOW'],
      ['/stats/histogram?window=-1', 'INVALID_WINDOW'],
      ['/stats/histogram?format=csv', 'INVALID_FORMAT']
    ]
    for (const [path, code] of cases) {
      const r = await request(a.url + path)
      assert.equal(r.status, 400, path)
      assert.match(String(r.headers['content-type']), /^application\/json/)
      const body = JSON.parse(r.body)
      assert.equal(body.error.code, code, path)
      assert.ok(body.error.message.length > 10)
    }
  })
})
