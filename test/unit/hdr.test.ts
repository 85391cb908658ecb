import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { decodeFromCompressedBase64, Float64Histogram, type JsHistogram } from 'hdr-histogram-js'
import { DEFAULT_BUCKETS_US } from '../../src/shared/config.js'
import { create, type LayoutConfig } from '../../src/shared/layout.js'
import { cumulativeAt, distribution, encode, hgrm } from '../../src/shared/hdr.js'
import { HistogramStore } from '../../src/worker/histograms.js'

const cfg: LayoutConfig = { ringCapacity: 1024, lowestUs: 1, highestUs: 60_000_000, digits: 3, windowSeconds: 10 }
const hist = (): Float64Histogram => new Float64Histogram(cfg.lowestUs, cfg.highestUs, cfg.digits)
const atOrBelow = (values: readonly number[], limit: number): number => values.filter((v) => v <= limit).length

function counts (h: JsHistogram): number[] {
  return Array.from({ length: h.countsArrayLength }, (_, i) => h.getCountAtIndex(i))
}

test('le counts: a sample exactly on a boundary is in that bucket, one µs above is not (below 2048 µs)', () => {
  const bounds = DEFAULT_BUCKETS_US.filter((b) => b < 2048)
  const h = hist()
  for (const b of bounds) { h.recordValue(b); h.recordValue(b + 1) }
  const got = cumulativeAt(h, bounds)
  bounds.forEach((b, i) => assert.equal(got[i], 2 * i + 1, `le=${b} µs holds ${b} and not ${b + 1}`))
})

test('le counts: every default boundary holds a sample recorded exactly on it, also inside wide HDR buckets', () => {
  const h = hist()
  for (const b of DEFAULT_BUCKETS_US) h.recordValue(b)
  assert.deepEqual(cumulativeAt(h, DEFAULT_BUCKETS_US), DEFAULT_BUCKETS_US.map((_, i) => i + 1))
  // Just below each boundary is always at or below it too.
  const below = hist()
  for (const b of DEFAULT_BUCKETS_US) below.recordValue(b - 1)
  assert.deepEqual(cumulativeAt(below, DEFAULT_BUCKETS_US), DEFAULT_BUCKETS_US.map((_, i) => i + 1))
})

test('le counts equal the exact count at or below each boundary, rounded up to its HDR bucket (property)', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 0, max: 60_000_000 }), { maxLength: 300 }),
    fc.uniqueArray(fc.integer({ min: 1, max: 60_000_000 }), { minLength: 1, maxLength: 40 }),
    (values, unsorted) => {
      const bounds = [...unsorted].sort((a, b) => a - b)
      const h = hist()
      for (const v of values) h.recordValue(v)
      const got = cumulativeAt(h, bounds)
      bounds.forEach((b, i) => {
        const top = h.highestEquivalentValue(b)
        assert.equal(got[i], atOrBelow(values, top), `le=${b}: samples up to its HDR bucket's top ${top}`)
        assert.ok((got[i] as number) >= atOrBelow(values, b), 'never fewer than the samples at or below the boundary')
        assert.ok(top - b <= b / 1024, 'the bucket top is within 1/1024 of the boundary')
        if (b < 2048) assert.equal(got[i], atOrBelow(values, b), 'exact below 2048 µs')
      })
    }
  ), { numRuns: 200 })
})

test('the encoding decodes to the same counts, and merging two encodings equals the histogram of the union (property)', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 1, max: 60_000_000 }), { maxLength: 400 }),
    fc.array(fc.integer({ min: 1, max: 60_000_000 }), { maxLength: 400 }),
    (a, b) => {
      // Two "replicas", each a store as the worker keeps it.
      const encoded = [a, b].map((values) => {
        const store = new HistogramStore(create(cfg))
        store.rotate(1)
        for (const v of values) store.record(v)
        return encode(store.range('lifetime').histogram)
      })
      const decoded = encoded.map((e) => {
        assert.match(e, /^HISTFAAA/)
        return decodeFromCompressedBase64(e, 64) as JsHistogram
      })
      const single = hist()
      for (const v of a) single.recordValue(v)
      assert.deepEqual(counts(decoded[0] as JsHistogram), counts(single))
      const merged = decoded[0] as JsHistogram
      merged.add(decoded[1] as JsHistogram)
      const union = hist()
      for (const v of [...a, ...b]) union.recordValue(v)
      assert.equal(merged.totalCount, a.length + b.length)
      assert.deepEqual(counts(merged), counts(union))
      for (const p of [50, 90, 99, 99.9, 100]) assert.equal(merged.getValueAtPercentile(p), union.getValueAtPercentile(p), `p${p}`)
    }
  ), { numRuns: 50 })
})

test('distribution lists every non-empty bucket with its cumulative percentile', () => {
  const h = hist()
  const values = [5, 5, 7, 2047, 2048, 2049, 3000, 3001, 1_000_000, 59_999_999]
  for (const v of values) h.recordValue(v)
  const rows = distribution(h)
  assert.equal(rows.reduce((n, r) => n + r.count, 0), values.length)
  assert.equal(rows.at(-1)?.percentile, 100)
  assert.deepEqual(rows.slice(0, 3), [
    { from_us: 5, to_us: 5, count: 2, percentile: 20 },
    { from_us: 7, to_us: 7, count: 1, percentile: 30 },
    { from_us: 2047, to_us: 2047, count: 1, percentile: 40 }
  ])
  // 2048 and 2049 share a two-µs bucket; so do 3000 and 3001.
  assert.deepEqual(rows[3], { from_us: 2048, to_us: 2049, count: 2, percentile: 60 })
  assert.deepEqual(rows[4], { from_us: 3000, to_us: 3001, count: 2, percentile: 80 })
  for (let i = 1; i < rows.length; i++) assert.ok((rows[i] as { from_us: number }).from_us > (rows[i - 1] as { to_us: number }).to_us)
  assert.deepEqual(distribution(hist()), [])
})

test('hgrm is HdrHistogram\'s percentile distribution text, in ms', () => {
  const h = hist()
  for (let v = 1000; v <= 2000; v++) h.recordValue(v)
  const text = hgrm(h)
  assert.match(text, /^ {7}Value {5}Percentile TotalCount 1\/\(1-Percentile\)\n\n/)
  assert.match(text, /^ +1\.000 0\.000000000000 +1 +1\.00$/m, 'first row: 1000 µs shown as 1.000 ms')
  assert.match(text, /^#\[Max {5}= +2\.000, Total count {4}= +1001\]$/m)
  assert.match(hgrm(hist()), /Total count {4}= +0\]/, 'an empty histogram still prints')
})
