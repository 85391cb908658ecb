import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { formatSize, parseSize } from '../../src/shared/size.js'
import { Payloads } from '../../src/main/payload.js'
import { hostileValue } from '../support/helpers.js'

test('sizes: bare bytes (Fortio\'s spelling), and units that are powers of 1024, in any case', () => {
  const cases: Array<[string, number]> = [
    ['0', 0], ['1024', 1024], ['512b', 512], ['1k', 1024], ['1K', 1024], ['1kb', 1024], ['1KB', 1024], ['64KiB', 65_536], ['64kib', 65_536],
    ['1M', 1_048_576], ['1mb', 1_048_576], ['1MiB', 1_048_576], ['1.5M', 1_572_864], ['0.5k', 512], ['1G', 2 ** 30], ['1GiB', 2 ** 30], ['0.25KiB', 256]
  ]
  for (const [text, bytes] of cases) assert.equal(parseSize(text), bytes, text)
})

test('sizes: what is not a whole number of bytes, or not a size, is refused', () => {
  for (const bad of ['', '-1', '+1', '1e3', '0x10', '1 k', 'k', '1kk', '1tb', '1T', '0.3k', '1.0001k', '1.', '.5k', 'NaN', 'Infinity', '١٢', '１２', '1_000', '123456789012345678901']) {
    assert.equal(parseSize(bad), undefined, bad)
  }
})

test('property: parseSize never throws, and anything it accepts is a safe integer', () => {
  fc.assert(fc.property(hostileValue, (text) => {
    const n = parseSize(text)
    assert.ok(n === undefined || (Number.isInteger(n) && n >= 0), `${text} → ${String(n)}`)
  }), { numRuns: 2000 })
  // Huge sizes are read as huge, never as small: MAX_SIZE refuses them as too large.
  assert.equal(parseSize('9999999999.999k'), undefined, 'not whole')
  assert.equal(parseSize('9999999999g'), 9_999_999_999 * 2 ** 30)
  assert.ok((parseSize('99999999999999999999') as number) > 2 ** 60)
  assert.ok((parseSize('00000000000000001024') as number) === 1024)
})

test('formatSize names the largest unit that divides', () => {
  assert.equal(formatSize(2 ** 20), '1 MiB')
  assert.equal(formatSize(256 * 1024), '256 KiB')
  assert.equal(formatSize(1_572_864), '1536 KiB')
  assert.equal(formatSize(1000), '1000 bytes')
  assert.equal(formatSize(0), '0 bytes')
})

test('payloads: one view per size, the same bytes however the buffer grew, never longer than MAX_SIZE', () => {
  const p = new Payloads(200_000)
  const small = p.get(10)
  assert.equal(small.body.length, 10)
  assert.equal(small.length, '10')
  assert.equal(p.get(10), small, 'cached: the same object')
  const big = p.get(150_000)
  assert.equal(big.body.length, 150_000)
  assert.deepEqual(big.body.subarray(0, 10), small.body, 'a prefix of the same sequence')
  assert.deepEqual(new Payloads(200_000).get(150_000).body, big.body, 'the same bytes in every process')
  assert.equal(p.get(200_000).body.length, 200_000, 'MAX_SIZE itself')
  assert.equal(p.get(0).body.length, 0)
  // Incompressible enough: no byte value takes more than 1 % of a 64 KiB body.
  const counts = new Array<number>(256).fill(0)
  for (const b of p.get(65_536).body) counts[b] = (counts[b] as number) + 1
  assert.ok(Math.max(...counts) < 655, String(Math.max(...counts)))
})
