import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { ApiError } from '../../src/shared/errors.js'
import { parsePercentiles, parseStatsQuery, parseWindow, percentileKey } from '../../src/main/stats-query.js'
import { hostileValue } from '../support/helpers.js'

const code = (r: unknown): string | undefined => (r instanceof ApiError ? r.code : undefined)

test('percentiles: numbers in (0, 100], at most 32, duplicates once, keys p50 / p99_99', () => {
  assert.deepEqual(parsePercentiles('50,90,99.99'), [50, 90, 99.99])
  assert.deepEqual(parsePercentiles('99.9, 50 ,50.0,100'), [99.9, 50, 100])
  assert.deepEqual(parsePercentiles('0.001'), [0.001])
  assert.deepEqual(parsePercentiles(Array.from({ length: 32 }, (_, i) => String(i + 1)).join(',')), Array.from({ length: 32 }, (_, i) => i + 1))
  for (const bad of ['', '0', '-1', '100.1', '101', 'abc', '1e2', '50,,90', '0x10', 'NaN', 'Infinity', '50;90', '1.1234567']) {
    assert.equal(code(parsePercentiles(bad)), 'INVALID_PERCENTILES', JSON.stringify(bad))
  }
  assert.equal(code(parsePercentiles(Array.from({ length: 33 }, () => '50').join(','))), 'INVALID_PERCENTILES')
  assert.equal(percentileKey(50), 'p50')
  assert.equal(percentileKey(99.99), 'p99_99')
  assert.equal(percentileKey(0.1), 'p0_1')
  assert.equal(percentileKey(100), 'p100')
})

test('window: lifetime or whole seconds from 1 to WINDOW_SECONDS', () => {
  assert.equal(parseWindow('lifetime', 10), 'lifetime')
  assert.equal(parseWindow('1', 10), 1)
  assert.equal(parseWindow('10', 10), 10)
  for (const bad of ['0', '11', '-1', '1.5', '5s', '', 'LIFETIME', 'all', '1e1']) {
    assert.equal(code(parseWindow(bad, 10)), 'INVALID_WINDOW', JSON.stringify(bad))
  }
})

test('the whole query: defaults, a window alone asks for the usual percentiles, format', () => {
  assert.deepEqual(parseStatsQuery('/stats', 10), { percentiles: undefined, range: 'lifetime', format: 'json' })
  assert.deepEqual(parseStatsQuery('/stats?cachebuster=1', 10), { percentiles: undefined, range: 'lifetime', format: 'json' })
  assert.deepEqual(parseStatsQuery('/stats?percentiles=50%2C99.9&window=3', 10), { percentiles: [50, 99.9], range: 3, format: 'json' })
  assert.deepEqual(parseStatsQuery('/stats?window=lifetime', 10), { percentiles: [50, 90, 95, 99, 99.9], range: 'lifetime', format: 'json' })
  assert.deepEqual(parseStatsQuery('/stats/histogram?format=hgrm', 10), { percentiles: undefined, range: 'lifetime', format: 'hgrm' })
  assert.equal(code(parseStatsQuery('/stats/histogram?format=csv', 10)), 'INVALID_FORMAT')
  assert.equal(code(parseStatsQuery('/stats?window=30', 10)), 'INVALID_WINDOW')
  assert.equal(code(parseStatsQuery('/stats?percentiles=200', 10)), 'INVALID_PERCENTILES')
  assert.equal(code(parseStatsQuery('/stats?window=3&percentiles=50&window=5', 10)), 'INVALID_QUERY', 'a parameter given twice')
})

test('property: the /stats query never throws; it parses within the limits or answers a documented 400', () => {
  fc.assert(fc.property(hostileValue, hostileValue, hostileValue, fc.integer({ min: 1, max: 120 }), (p, w, f, seconds) => {
    const ps = parsePercentiles(p)
    if (ps instanceof ApiError) assert.equal(ps.code, 'INVALID_PERCENTILES')
    else assert.ok(ps.length >= 1 && ps.length <= 32 && new Set(ps).size === ps.length && ps.every((x) => x > 0 && x <= 100))
    const win = parseWindow(w, seconds)
    if (win instanceof ApiError) assert.equal(win.code, 'INVALID_WINDOW')
    else assert.ok(win === 'lifetime' || (Number.isInteger(win) && win >= 1 && win <= seconds))
    const q = parseStatsQuery(`/stats?percentiles=${encodeURIComponent(p)}&window=${encodeURIComponent(w)}&format=${encodeURIComponent(f)}`, seconds)
    if (q instanceof ApiError) assert.ok(['INVALID_PERCENTILES', 'INVALID_WINDOW', 'INVALID_FORMAT'].includes(q.code), q.code)
    const raw = parseStatsQuery(`/stats?${p}&${w}`, seconds)
    assert.ok(raw instanceof ApiError || raw.range === 'lifetime' || typeof raw.range === 'number')
  }), { numRuns: 1000 })
})
