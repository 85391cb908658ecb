import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { Float64Histogram, Int32Histogram } from 'hdr-histogram-js'
import { decode, encode, valuesAt } from '../../src/shared/hdr.js'
import { create } from '../../src/shared/layout.js'
import { HistogramStore } from '../../src/worker/histograms.js'
import { SharedHistogram } from '../../src/worker/shared-histogram.js'

// SharedHistogram implements hdr-histogram-js's abstract JsHistogram over a
// counts array it is given (a view into the SharedArrayBuffer). It must
// behave exactly as the library's own histograms: if an upgrade of the
// library changed what the base class expects of its subclasses, this fails.

test('a shared histogram records, reads and encodes exactly as the library\'s own (property)', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 60_000_000 }), { maxLength: 300 }), (values) => {
    const reference = new Float64Histogram(1, 60_000_000, 3)
    const counts = new Float64Array(reference.countsArrayLength)
    const shared = new SharedHistogram(1, 60_000_000, 3, counts)
    for (const v of values) { reference.recordValue(v); shared.recordValue(v) }
    assert.equal(shared.totalCount, reference.totalCount)
    assert.equal(shared.maxValue, reference.maxValue)
    assert.equal(shared.mean, reference.mean)
    const ps = [0, 50, 90, 99, 99.9, 100]
    assert.deepEqual(valuesAt(shared, ps), valuesAt(reference, ps))
    assert.equal(encode(shared), encode(reference), 'the same compressed bytes')
    const back = decode(encode(shared), 'shared')
    assert.equal(back.totalCount, values.length)
  }))
})

test('the counts live in the given array: a second histogram on it sees them', () => {
  const counts = new Uint32Array(new Int32Histogram(1, 60_000_000, 3).countsArrayLength)
  const a = new SharedHistogram(1, 60_000_000, 3, counts)
  for (const v of [5, 5, 1500, 250_000]) a.recordValue(v)
  const b = new SharedHistogram(1, 60_000_000, 3, counts)
  assert.equal(b.totalCount, 4, 'a replacement worker starts from what its predecessor recorded')
  assert.equal(b.getCountAtIndex(b.countsArrayIndex(5)), 2)
  a.reset()
  assert.equal(counts.reduce((s, c) => s + c, 0), 0)
})

test('a counts array of the wrong length, or a value past the fixed range, is refused', () => {
  assert.throws(() => new SharedHistogram(1, 60_000_000, 3, new Float64Array(10)), /counts length mismatch/)
  const h = new SharedHistogram(1, 1000, 3, new Float64Array(new Float64Histogram(1, 1000, 3).countsArrayLength))
  assert.throws(() => h.recordValue(10_000_000))
})

test('a histogram told its counts are empty is in the state that reading them gives', () => {
  const counts = new Float64Array(new Float64Histogram(1, 60_000_000, 3).countsArrayLength)
  const read = new SharedHistogram(1, 60_000_000, 3, counts)
  const told = new SharedHistogram(1, 60_000_000, 3, counts, true)
  for (const key of ['totalCount', 'maxValue', 'minNonZeroValue', 'mean'] as const) assert.equal(told[key], read[key], key)
  for (const h of [read, told]) h.recordValue(1500)
  assert.equal(told.minNonZeroValue, read.minNonZeroValue)
  assert.equal(encode(told), encode(read))
})

test('only a buffer whose journal was never written counts as empty: a replacement reads what was recorded', () => {
  const v = create({ ringCapacity: 1024, lowestUs: 1, highestUs: 60_000_000, digits: 3, windowSeconds: 4 })
  const first = new HistogramStore(v)
  first.rotate(7)
  // Counts written (as a death before flush() leaves them) but no totals flushed.
  for (const us of [5, 1500, 250_000]) first.record(us)
  const next = new HistogramStore(v)
  assert.equal(next.cumulative.totalCount, 3)
  assert.equal(next.window.totalCount, 3)
  assert.equal(next.cumulative.maxValue, first.cumulative.highestEquivalentValue(250_000))
})
