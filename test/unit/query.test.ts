import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { ApiError } from '../../src/shared/errors.js'
import { parseDurationUs } from '../../src/shared/duration.js'
import { pick, RootQueryParser, type RootSpec } from '../../src/main/query.js'
import { hostileValue } from '../support/helpers.js'

const parser = new RootQueryParser(20_000, 10_000_000)
const spec = (q: string): RootSpec => {
  const s = parser.parse('/?' + q)
  if (s instanceof ApiError) throw s
  return s
}

test('durations: units, bare ms, and refusals', () => {
  assert.equal(parseDurationUs('250us'), 250)
  assert.equal(parseDurationUs('250µs'), 250)
  assert.equal(parseDurationUs('5ms'), 5000)
  assert.equal(parseDurationUs('1.5s'), 1_500_000)
  assert.equal(parseDurationUs('2'), 2000)
  assert.equal(parseDurationUs('0.25'), 250)
  assert.equal(parseDurationUs('0'), 0)
  for (const bad of ['', '-1', '1e309', 'NaN', 'Infinity', '5 ms', '0x10', '1..2', 'ms', '1h']) assert.equal(parseDurationUs(bad), undefined, bad)
})

test('durations beyond 2^53 µs come back as Infinity, longer than any maximum, never as an inexact count', () => {
  assert.equal(parseDurationUs('9007199254s'), 9_007_199_254_000_000)
  assert.equal(parseDurationUs('999999999999999us'), 999_999_999_999_999, '15 digits of µs are exact')
  // fast-check found this one in CI: 2^53 µs exactly, which is not a safe integer.
  for (const big of ['9007199254740.992', '9007199255s', '999999999999999s', '999999999999999m', '150119988m']) {
    assert.equal(parseDurationUs(big), Number.POSITIVE_INFINITY, big)
  }
})

test('single values and Fortio weighted lists', () => {
  assert.deepEqual(spec('delay=0').delay, { values: [], upTo: [], fallback: 0 })
  assert.deepEqual(spec('status=503').status, { values: [], upTo: [], fallback: 503 })
  const d = spec('delay=150us:10,2ms:5').delay
  assert.deepEqual(d, { values: [150, 2000], upTo: [10, 15], fallback: 20_000 })
  assert.deepEqual(spec('status=503:5,429:1&x=1').status, { values: [503, 429], upTo: [5, 6], fallback: 200 })
  assert.equal(spec('other=1').delay.fallback, 20_000, 'unknown parameters are ignored')
  assert.equal(spec('delay=10s').delay.fallback, 10_000_000, 'MAX_DELAY_MS itself is allowed')
  assert.ok(parser.parse('/?delay=10001') instanceof ApiError)
})

test('pick() follows the weights', () => {
  const c = spec('status=503:25,404:25').status
  const n = new Map<number, number>()
  for (let i = 0; i < 40_000; i++) { const v = pick(c); n.set(v, (n.get(v) ?? 0) + 1) }
  for (const [code, share] of [[503, 0.25], [404, 0.25], [200, 0.5]] as const) {
    assert.ok(Math.abs((n.get(code) ?? 0) / 40_000 - share) < 0.02, `${code}: ${n.get(code)}`)
  }
})

test('property: the parser never throws, and answers a spec or an ApiError', () => {
  fc.assert(fc.property(fc.string({ maxLength: 2000 }), (q) => {
    const r = new RootQueryParser(20_000, 10_000_000).parse('/?' + q)
    assert.ok(r instanceof ApiError || (typeof r.delay.fallback === 'number' && typeof r.status.fallback === 'number'))
  }), { numRuns: 500 })
})

test('property: any delay and status value gives a spec within the limits or one of the documented 400s', () => {
  const codes = new Set(['INVALID_DELAY', 'DELAY_TOO_LARGE', 'INVALID_STATUS', 'INVALID_WEIGHTS', 'INVALID_QUERY'])
  const p = new RootQueryParser(20_000, 10_000_000)
  fc.assert(fc.property(hostileValue, hostileValue, fc.boolean(), (delay, status, encode) => {
    const e = (v: string): string => encode ? encodeURIComponent(v) : v.replace(/[&#]/g, '')
    const r = p.parse(`/?delay=${e(delay)}&status=${e(status)}`)
    if (r instanceof ApiError) {
      assert.ok(codes.has(r.code), r.code)
      assert.equal(r.status, 400)
      return
    }
    for (const [c, min, max] of [[r.delay, 0, 10_000_000], [r.status, 200, 599]] as const) {
      assert.ok(c.values.length <= 32 && c.values.length === c.upTo.length)
      for (const v of [...c.values, c.fallback]) assert.ok(Number.isInteger(v) && v >= min && v <= max, String(v))
      c.upTo.forEach((u, i) => assert.ok(u > (i === 0 ? 0 : c.upTo[i - 1] as number) && u <= 100 + 1e-9))
    }
  }), { numRuns: 1000 })
})

test('property: parseDurationUs gives a whole, exact, non-negative µs count, Infinity or undefined', () => {
  fc.assert(fc.property(hostileValue, fc.constantFrom('us', 'ms', 's') as fc.Arbitrary<'us' | 'ms' | 's'>, (text, unit) => {
    const us = parseDurationUs(text, unit)
    assert.ok(us === undefined || us === Number.POSITIVE_INFINITY || (Number.isSafeInteger(us) && us >= 0), String(us))
  }), { numRuns: 1000 })
})
