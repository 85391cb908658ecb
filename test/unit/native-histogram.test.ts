import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { Float64Histogram } from 'hdr-histogram-js'
import { bucketIndex, deltas, nativeBuckets, upperBound, type NativeBuckets } from '../../src/shared/native-histogram.js'

const hist = (): Float64Histogram => new Float64Histogram(1, 60_000_000, 3)

/**
 * The oracle, in exact integer arithmetic: `us` µs lies in native bucket k of
 * schema s when 2^((k-1)/2^s) < us/1e6 ≤ 2^(k/2^s), that is, raising
 * everything to the power n = 2^s, when 2^(k-1)·1e6^n < us^n ≤ 2^k·1e6^n.
 */
function inBucket (us: number, k: number, schema: number): boolean {
  const n = 2n ** BigInt(schema)
  const lhs = BigInt(us) ** n
  const scale = 1_000_000n ** n
  const times2 = (e: number): [bigint, bigint] => (e >= 0 ? [lhs, scale * 2n ** BigInt(e)] : [lhs * 2n ** BigInt(-e), scale])
  const [a, b] = times2(k)
  const [c, d] = times2(k - 1)
  return a <= b && c > d
}

/** Each bucket's index and count, from the spans. */
function expand (n: NativeBuckets): Array<[number, number]> {
  const out: Array<[number, number]> = []
  // The first span's offset is its first index; each later one's, the empty buckets since the span before ended.
  let index = 0
  let i = 0
  for (const span of n.spans) {
    index += span.offset
    for (let j = 0; j < span.length; j++) out.push([index++, n.counts[i++] as number])
  }
  assert.equal(i, n.counts.length, 'the spans cover every count')
  return out
}

test('bucketIndex agrees with the exact oracle, also on and next to the powers of two', () => {
  const values = [1, 2, 3, 999, 1000, 1001, 2047, 2048, 15_625, 31_250, 62_500, 125_000, 250_000, 500_000, 1_000_000, 2_000_000, 20_000, 20_054, 59_999_999]
  for (const schema of [0, 3, 5, 8]) {
    for (const us of values.flatMap((v) => [v - 1, v, v + 1]).filter((v) => v > 0)) {
      assert.ok(inBucket(us, bucketIndex(us / 1e6, schema), schema), `${us} µs at schema ${schema}`)
    }
  }
  // A power of two is the upper boundary of its bucket: 1 s is bucket 0, 0.5 s bucket -2^schema.
  assert.equal(bucketIndex(1, 8), 0)
  assert.equal(bucketIndex(0.5, 8), -256)
  assert.equal(upperBound(-256, 8), 0.5)
})

test('native counts sum to the HDR total and each HDR value is in the bucket that holds it (property)', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 0, max: 60_000_000 }), { maxLength: 200 }),
    fc.array(fc.integer({ min: 15_000, max: 30_000 }), { maxLength: 200 }),
    fc.constantFrom(0, 4, 5, 8),
    (wide, narrow, schema) => {
      const h = hist()
      for (const v of [...wide, ...narrow]) h.recordValue(v)
      const n = nativeBuckets(h, schema)
      const buckets = expand(n)
      assert.equal(n.zeroCount + n.counts.reduce((a, b) => a + b, 0), h.totalCount)
      // The oracle's bucket for every HDR bucket's value, summed, is exactly the native histogram.
      const want = new Map<number, number>()
      let zero = 0
      for (let i = 0; i < h.countsArrayLength; i++) {
        const c = h.getCountAtIndex(i)
        if (c === 0) continue
        const us = h.valueFromIndex(i)
        if (us === 0) { zero += c; continue }
        const k = bucketIndex(us / 1e6, schema)
        assert.ok(inBucket(us, k, schema), `${us} µs`)
        want.set(k, (want.get(k) ?? 0) + c)
      }
      assert.equal(n.zeroCount, zero)
      assert.deepEqual(buckets.filter(([, c]) => c > 0), [...want.entries()].sort((a, b) => a[0] - b[0]))
      // Indices strictly ascending; spans are separated by more than 2 empty buckets.
      for (let i = 1; i < buckets.length; i++) assert.ok((buckets[i] as [number, number])[0] > (buckets[i - 1] as [number, number])[0])
      for (const span of n.spans.slice(1)) assert.ok(span.offset > 2, `span gap ${span.offset}`)
    }
  ), { numRuns: 200 })
})

test('a 20 ms workload needs a few dozen buckets at schema 8, all within 0.1 % + 0.27 % of the samples', () => {
  const h = hist()
  for (let us = 20_050; us <= 21_500; us += 7) h.recordValue(us)
  const n = nativeBuckets(h, 8)
  assert.ok(n.counts.length <= 30, `${n.counts.length} buckets`)
  assert.equal(n.spans.length, 1)
  // Every sample's native bucket ends at most 0.27 % + 0.1 % above it and starts below it.
  for (let us = 20_050; us <= 21_500; us += 7) {
    const k = bucketIndex(h.lowestEquivalentValue(us) / 1e6, 8)
    assert.ok(upperBound(k, 8) * 1e6 >= h.lowestEquivalentValue(us))
    assert.ok(upperBound(k, 8) * 1e6 <= us * (1 + 0.0028 + 0.001))
  }
})

test('deltas: each count against the one before, the first against zero', () => {
  assert.deepEqual(deltas([3, 5, 0, 1]), [3, 2, -5, 1])
  assert.deepEqual(deltas([]), [])
})

test('an empty histogram has no buckets and no zero count', () => {
  assert.deepEqual(nativeBuckets(hist(), 8), { schema: 8, zeroCount: 0, spans: [], counts: [] })
})
