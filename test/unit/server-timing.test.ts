import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { serverTiming } from '../../src/main/server.js'
import { serverTimingUs } from '../../src/cli/server-timing.js'

/** Header lines as undici passes them to onResponseStart: names lower-cased, repeated lines as an array; returns Server-Timing's. */
const raw = (...pairs: string[]): string | string[] | undefined => {
  const lines: string[] = []
  for (let i = 0; i < pairs.length; i += 2) if ((pairs[i] as string).toLowerCase() === 'server-timing') lines.push(pairs[i + 1] as string)
  return lines.length === 0 ? undefined : lines.length === 1 ? lines[0] : lines
}

test('reads the app entry of Server-Timing as integer µs', () => {
  assert.equal(serverTimingUs(raw('Server-Timing', 'app;dur=0.012')), 12)
  assert.equal(serverTimingUs(raw('server-timing', 'app;dur=12.5')), 12_500)
  assert.equal(serverTimingUs(raw('SERVER-TIMING', 'app;dur=3')), 3000)
  assert.equal(serverTimingUs(raw('Server-Timing', 'app;dur=1.23456')), 1235, 'rounded half up to the µs')
  assert.equal(serverTimingUs(raw('Server-Timing', 'cache;desc="hit", app;dur=2.000')), 2000, 'a later entry')
  assert.equal(serverTimingUs(raw('Content-Type', 'text/plain', 'Server-Timing', 'edge;dur=5', 'Server-Timing', 'app;dur=0.5')), 500, 'a later header line')
  assert.equal(serverTimingUs(raw('Server-Timing', 'app;dur=0.5;desc="x"')), 500)
})

test('no app entry, or a value that is not a plain decimal, is -1', () => {
  assert.equal(serverTimingUs(undefined), -1)
  assert.equal(serverTimingUs([]), -1)
  assert.equal(serverTimingUs(raw('Content-Length', '3')), -1)
  assert.equal(serverTimingUs(raw('Server-Timing', 'db;dur=5')), -1)
  assert.equal(serverTimingUs(raw('Server-Timing', 'myapp;dur=5')), -1, 'only the entry named app')
  assert.equal(serverTimingUs(raw('Server-Timing', 'app;dur=')), -1)
  assert.equal(serverTimingUs(raw('Server-Timing', 'app;dur=-1')), -1)
  assert.equal(serverTimingUs(raw('Server-Timing', 'app;dur=1e3')), -1)
  assert.equal(serverTimingUs(raw('Server-Timinx', 'app;dur=1')), -1)
})

test('reads back exactly what the PodMeter server writes (property)', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 3_600_000_000 }), (us) => {
    assert.equal(serverTimingUs(raw('Server-Timing', serverTiming(us))), us)
  }))
})
