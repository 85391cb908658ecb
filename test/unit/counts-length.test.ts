import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { Float64Histogram } from 'hdr-histogram-js'
import { countsArrayLength } from '../../src/shared/counts-length.js'

test('countsArrayLength() is hdr-histogram-js\'s, for the default range and any other (property)', () => {
  assert.equal(countsArrayLength(1, 60_000_000, 3), new Float64Histogram(1, 60_000_000, 3).countsArrayLength)
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 1_000_000 }),
    fc.integer({ min: 2, max: 2 ** 52 }),
    fc.integer({ min: 1, max: 5 }),
    (lowest, above, digits) => {
      const highest = Math.max(above, 2 * lowest)
      assert.equal(countsArrayLength(lowest, highest, digits), new Float64Histogram(lowest, highest, digits).countsArrayLength)
    }
  ), { numRuns: 500 })
})

test('countsArrayLength() refuses a range the library refuses', () => {
  assert.throws(() => new Float64Histogram(10, 19, 3))
  assert.throws(() => countsArrayLength(10, 19, 3), /cannot be < \(2 \* lowestDiscernibleValue\)/)
})
