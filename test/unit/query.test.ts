import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { ApiError } from '../../src/shared/errors.js'
import { parseDurationUs } from '../../src/shared/duration.js'
import { closes, parseClose, pick, RootQueryParser, type RootSpec } from '../../src/main/query.js'
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

const MAX = 1_048_576
const sized = new RootQueryParser(20_000, 10_000_000, MAX)
const shape = (q: string): NonNullable<RootSpec['shape']> => {
  const s = sized.parse('/?' + q)
  if (s instanceof ApiError) throw s
  assert.ok(s.shape !== undefined, q)
  return s.shape
}
const refused = (q: string): string => {
  const s = sized.parse('/?' + q)
  assert.ok(s instanceof ApiError, `${q} is refused`)
  return s.code
}

test('delay and status alone keep the plain answer; size, header or close shape it', () => {
  assert.equal(spec('delay=0&status=503').shape, undefined)
  assert.equal(sized.parse('/?delay=0&cachebuster=123') instanceof ApiError, false)
  assert.equal(shape('size=0').size.fallback?.body.length, 0)
  assert.equal(shape('close=0').close, 0)
  assert.deepEqual(shape('header=X-A:1').headers.flat, ['X-A', '1'])
})

test('size: one size, units, a Fortio weighted list whose remainder is the default body or the echo', () => {
  assert.equal(shape('size=1024').size.fallback?.length, '1024')
  assert.equal(shape('size=1k').size.fallback?.body.length, 1024)
  assert.equal(shape('size=64KiB').size.fallback?.body.length, 65_536)
  assert.equal(shape('size=1M').size.fallback?.body.length, MAX, 'MAX_SIZE itself')
  const list = shape('size=1k:90,64k:10').size
  assert.deepEqual(list.values.map((p) => p?.body.length), [1024, 65_536])
  assert.deepEqual(list.upTo, [90, 100])
  assert.equal(list.fallback, null, 'the remainder: default body (GET), echo (POST)')
  assert.equal(shape('size=512:20,16384:10').size.fallback, null, 'Fortio\'s own example')
  assert.deepEqual(shape('size=1k:20%25,2k:5.5%25').size.upTo, [20, 25.5], 'a weight may end with %, as in Fortio')
  assert.deepEqual(spec('delay=10ms:20%25').delay.upTo, [20])
  assert.equal(refused('size=1k:20%25%25'), 'INVALID_WEIGHTS')
  const seen = new Map<number | null, number>()
  const c = shape('size=1k:25,2k:25').size
  for (let i = 0; i < 40_000; i++) { const v = pick(c)?.body.length ?? null; seen.set(v, (seen.get(v) ?? 0) + 1) }
  assert.deepEqual([...seen.keys()].sort(), [1024, 2048, null].sort())
})

test('size: too large, malformed, or badly weighted lists are refused with their code, never clamped', () => {
  for (const q of ['size=1048577', 'size=2M', 'size=1k:50,2M:10', 'size=99999999999g', 'size=9999999999', 'size=99999999999999999999']) assert.equal(refused(q), 'SIZE_TOO_LARGE', q)
  for (const q of ['size=-1', 'size=1e3', 'size=abc', 'size=', 'size', 'size=1k:50,2k', 'size=1k::5', 'size=:5', 'size=0.3k', `size=${'1k:1,'.repeat(40)}1k:1`]) assert.equal(refused(q), 'INVALID_SIZE', q)
  for (const q of ['size=1k:60,2k:60', 'size=1k:0', 'size=1k:101', 'size=1k:x']) assert.equal(refused(q), 'INVALID_WEIGHTS', q)
  assert.equal(refused('size=1k&size=2k'), 'INVALID_QUERY')
  assert.equal(refused(`size=${'9'.repeat(3000)}`), 'INVALID_SIZE', 'too long to read')
})

test('close: a flag or a percentage, with Fortio\'s true and 5.3; close=1 is the flag (Fortio: 1 %), 1 % is close=1.0', () => {
  const cases: Array<[string, number]> = [['true', 100], ['TRUE', 100], ['1', 100], ['false', 0], ['0', 0], ['5.3', 5.3], ['5.3%', 5.3], ['1%', 1], ['1.0', 1], ['100', 100], ['0.000001', 0.000001], ['50', 50]]
  for (const [text, p] of cases) assert.equal(parseClose(text), p, text)
  for (const bad of ['', 'yes', '101', '-1', '1e2', 'true:10', '5,3', '%', '1%%']) assert.equal(parseClose(bad), undefined, bad)
  assert.equal(refused('close=yes'), 'INVALID_CLOSE')
  assert.equal(refused('close'), 'INVALID_CLOSE')
  assert.equal(refused('close=1&close=0'), 'INVALID_QUERY')
  assert.equal(closes(100), true)
  assert.equal(closes(0), false)
  let n = 0
  for (let i = 0; i < 1000; i++) if (closes(50)) n++
  assert.ok(n > 0 && n < 1000, 'a percentage closes some and not others')
})

test('header: repeatable, Fortio\'s Name:Value, decoded; Content-Type replaces the default', () => {
  const h = shape('header=Foo:Bar&header=X-Y:%20a:b%20&header=Foo:again&header=Content-Type:text/csv&header=X-Empty:').headers
  assert.deepEqual(h.flat, ['Foo', 'Bar', 'X-Y', 'a:b', 'Foo', 'again', 'X-Empty', ''])
  assert.equal(h.contentType, 'text/csv')
  assert.equal(shape('header=X:a+b').headers.flat[1], 'a b', 'a + is a space, as in a form')
})

test('header: CRLF, NUL, non-ASCII, bad names, framing and hop headers, too many or too big are refused', () => {
  for (const q of ['header=X:a%0D%0AInjected:1', 'header=X:a%0Ab', 'header=X:a%00', 'header=X:%7F', 'header=X:%C3%A9', 'header=X%20Y:1', 'header=:1', 'header=X', 'header=', 'header',
    'header=X%0D%0AY:1', 'header=(x):1', 'header=X:1&header=Content-Type:a&header=Content-Type:b']) {
    assert.equal(refused(q), 'INVALID_HEADER', q)
  }
  for (const name of ['Content-Length', 'content-length', 'Transfer-Encoding', 'Connection', 'Keep-Alive', 'TE', 'Trailer', 'Upgrade', 'Proxy-Connection', 'Server-Timing']) {
    assert.equal(refused(`header=${name}:1`), 'HEADER_NOT_ALLOWED', name)
  }
  assert.equal(shape(Array.from({ length: 16 }, (_, i) => `header=X-${i}:v`).join('&')).headers.flat.length, 32, '16 is the most')
  assert.equal(refused(Array.from({ length: 17 }, (_, i) => `header=X-${i}:v`).join('&')), 'INVALID_HEADER')
  assert.equal(refused(Array.from({ length: 3 }, (_, i) => `header=X-${i}:${'v'.repeat(1500)}`).join('&')), 'INVALID_HEADER', 'more than 4096 bytes in all')
  assert.equal(refused(`header=X:${'v'.repeat(2100)}`), 'INVALID_HEADER', 'one value too long to read')
})

test('property: size, header and close of any value give a sound shape or one of their 400s', () => {
  const codes = new Set(['INVALID_SIZE', 'SIZE_TOO_LARGE', 'INVALID_WEIGHTS', 'INVALID_QUERY', 'INVALID_HEADER', 'HEADER_NOT_ALLOWED', 'INVALID_CLOSE'])
  const p = new RootQueryParser(20_000, 10_000_000, 65_536)
  fc.assert(fc.property(hostileValue, hostileValue, hostileValue, fc.boolean(), (size, header, close, encode) => {
    const e = (v: string): string => encode ? encodeURIComponent(v) : v.replace(/[&#]/g, '')
    const r = p.parse(`/?size=${e(size)}&header=${e(header)}&close=${e(close)}`)
    if (r instanceof ApiError) {
      assert.ok(codes.has(r.code), r.code)
      assert.equal(r.status, 400)
      return
    }
    const s = r.shape
    assert.ok(s !== undefined)
    for (const v of [...s.size.values, s.size.fallback]) assert.ok(v === null || v.body.length <= 65_536)
    assert.ok(s.close >= 0 && s.close <= 100)
    for (const part of s.headers.flat) assert.match(part, /^[\t\x20-\x7e]*$/)
  }), { numRuns: 1000 })
})
