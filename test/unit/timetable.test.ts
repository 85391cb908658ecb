import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { Timetable } from '../../src/cli/timetable.js'

test('a phase of d ms at one request per i ms holds the requests due before its end', () => {
  const t = Timetable.lasting(100, 1, 10_000)
  assert.equal(t.count, 10_000)
  assert.equal(t.end, 10_100)
  assert.equal(t.nextDue, 100)
  assert.equal(t.dueBy(99.9), 0)
  assert.equal(t.dueBy(100), 1)
  assert.equal(t.dueBy(100.5), 1)
  assert.equal(t.dueBy(10_099.5), 10_000)
  assert.equal(t.dueBy(1e9), 10_000, 'never more than the phase holds')
  t.next = 10_000
  assert.equal(t.exhausted, true)
  assert.equal(t.nextDue, Number.POSITIVE_INFINITY)
  assert.equal(Timetable.lasting(0, 20_000, 10_000).count, 1, 'a phase shorter than one interval still sends its first request')
})

test('due times are start + i · interval, and dueBy counts them (property)', () => {
  fc.assert(fc.property(fc.double({ min: 0.01, max: 1000, noNaN: true }), fc.double({ min: 1, max: 100_000, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (interval, durationMs, at) => {
    const t = Timetable.lasting(0, interval, durationMs)
    assert.ok((t.count - 1) * interval < durationMs + 1e-6, 'the last due time is before the end')
    const when = at * durationMs
    const due = t.dueBy(when)
    assert.ok(due >= 1 && due <= t.count)
    assert.ok((due - 1) * interval <= when + 1e-9, 'every request counted was due')
    assert.ok(due === t.count || due * interval > when - 1e-9, 'and the next one was not')
  }))
})
