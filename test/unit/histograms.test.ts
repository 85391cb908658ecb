import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { Float64Histogram } from 'hdr-histogram-js'
import { C, create, readCounter, type LayoutConfig } from '../../src/shared/layout.js'
import { valuesAt } from '../../src/shared/hdr.js'
import { HistogramStore } from '../../src/worker/histograms.js'
import { exactQuantile } from '../support/helpers.js'

const cfg: LayoutConfig = { ringCapacity: 1024, lowestUs: 1, highestUs: 60_000_000, digits: 3, windowSeconds: 10 }
const PS = [0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100]

/** HDR with 3 digits keeps every value within 0.1 % (and µs values below 2048 exactly). */
function assertClose (actual: number | null | undefined, exact: number, what: string): void {
  assert.ok(actual !== null && actual !== undefined, `${what}: no value`)
  const tolerance = Math.max(exact * 1e-3, 1)
  assert.ok(Math.abs(actual - exact) <= tolerance, `${what}: ${actual} vs exact ${exact}`)
}

test('percentiles of a known sample set match exact order statistics within HDR precision', () => {
  const store = new HistogramStore(create(cfg))
  store.rotate(100)
  // A skewed set like real latency: most near 150 µs, a tail to 2 s.
  const values: number[] = []
  let seed = 12345
  const rand = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31 }
  for (let i = 0; i < 50_000; i++) {
    const r = rand()
    values.push(Math.round(r < 0.9 ? 100 + rand() * 100 : r < 0.999 ? 1000 + rand() * 20_000 : 100_000 + rand() * 1_900_000))
  }
  for (const v of values) store.record(v)
  const sorted = [...values].sort((a, b) => a - b)
  const life = store.lifetime(PS)
  for (const p of PS.filter((x) => x > 0)) assertClose(life.percentiles[String(p)], exactQuantile(sorted, p / 100), `p${p}`)
  assert.equal(life.count, values.length)
  assert.equal(life.min, sorted[0])
  assert.equal(life.max, sorted.at(-1))
  assert.equal(life.mean, values.reduce((a, b) => a + b, 0) / values.length)
  assert.equal(life.percentiles['100'], sorted.at(-1), 'p100 is the exact max')
})

test('valuesAt() agrees with hdr-histogram-js getValueAtPercentile', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 1, max: 10_000_000 }), { minLength: 1, maxLength: 300 }),
    fc.array(fc.double({ min: 0.001, max: 100, noNaN: true }), { minLength: 1, maxLength: 8 }),
    (values, ps) => {
      const h = new Float64Histogram(1, 60_000_000, 3)
      for (const v of values) h.recordValue(v)
      const got = valuesAt(h, ps)
      for (const p of ps) assert.equal(got[String(p)], h.getValueAtPercentile(p), `p${p}`)
    }
  ), { numRuns: 200 })
})

test('the window holds only the last windowSeconds of drain time', () => {
  const store = new HistogramStore(create({ ...cfg, windowSeconds: 3 }))
  for (let s = 0; s < 10; s++) {
    store.rotate(s)
    for (let i = 0; i < 10; i++) store.record(1000 * (s + 1))
  }
  store.rotate(10)
  const w = store.current([50, 100])
  // Seconds 7, 8, 9 (and the empty current one) are inside; 0..6 have expired.
  assert.equal(w.count, 30)
  assert.equal(w.min, 8000)
  assertClose(w.percentiles['100'], 10_000, 'window max')
  assert.equal(store.lifetime([50]).count, 100)
  // A long silence empties the window entirely.
  store.rotate(100)
  assert.equal(store.current([50]).count, 0)
  assert.equal(store.current([50]).percentiles['50'], null)
})

test('a replacement store on the same buffer continues with every recorded sample', () => {
  const v = create(cfg)
  const first = new HistogramStore(v)
  first.rotate(5)
  for (let i = 1; i <= 1000; i++) first.record(i * 10)
  const before = first.lifetime([50, 99])
  // As when piscina replaces a dead worker: new objects, same shared memory.
  const second = new HistogramStore(v)
  second.rotate(5)
  assert.deepEqual(second.lifetime([50, 99]), before)
  assert.equal(second.current([50]).count, 1000)
  second.record(5)
  assert.equal(second.lifetime([50]).count, 1001)
})

test('samples outside the range are clamped and counted', () => {
  const v = create({ ...cfg, highestUs: 1_000_000 })
  const store = new HistogramStore(v)
  store.rotate(1)
  store.record(5_000_000)
  store.record(200)
  assert.equal(readCounter(v, C.SAMPLES_CLAMPED), 1)
  const life = store.lifetime([100])
  assert.equal(life.count, 2)
  assert.equal(life.max, 5_000_000, 'the exact max is kept')
  assert.ok((life.percentiles['100'] as number) >= 1_000_000)
})

test('reset() empties everything', () => {
  const store = new HistogramStore(create(cfg))
  store.rotate(1)
  for (let i = 0; i < 100; i++) store.record(100)
  store.reset()
  store.rotate(1)
  assert.equal(store.lifetime([50]).count, 0)
  assert.equal(store.lifetime([50]).percentiles['50'], null)
  assert.equal(store.current([50]).count, 0)
})

test('a range of N seconds is the slice being filled and the N before it, merged exactly', () => {
  const store = new HistogramStore(create({ ...cfg, windowSeconds: 5 }))
  for (let s = 0; s < 10; s++) {
    store.rotate(s)
    for (let i = 1; i <= 10; i++) store.record(1000 * (s + 1) + i)
  }
  // Second 9 is being filled: a 2-second range is seconds 7, 8 and 9.
  const r = store.summary(2, [50, 100])
  const values = [8, 9, 10].flatMap((k) => Array.from({ length: 10 }, (_, i) => 1000 * k + i + 1))
  assert.equal(r.count, 30)
  assert.equal(r.min, 8001)
  assert.equal(r.max, 10_010)
  assert.equal(r.mean, values.reduce((a, b) => a + b, 0) / 30)
  assertClose(r.percentiles['50'], exactQuantile(values, 0.5), 'p50 of the range')
  assert.equal(r.percentiles['100'], 10_010)
  assert.equal(store.range(2).histogram.totalCount, 30, 'the merged histogram holds exactly the range')
  // The whole window is the running sum; a shorter range asked again starts afresh.
  assert.deepEqual(store.summary(5, [50, 99]), store.current([50, 99]))
  assert.equal(store.summary(1, [50]).count, 20)
  assert.equal(store.summary(2, [50]).count, 30)
  assert.equal(store.summary('lifetime', [50]).count, 100)
})
