import assert from 'node:assert/strict'
import { test } from 'node:test'
import { add, attach, create, inc, read, zero, type LayoutConfig } from '../src/shared/layout.js'

const cfg: LayoutConfig = { ringCapacity: 1024, lowestUs: 1, highestUs: 60_000_000, digits: 3, windowSeconds: 10 }

test('attach() sees the same memory, and refuses a buffer made for another layout', () => {
  const v = create(cfg)
  const w = attach(v.sab, cfg)
  inc(v.counters, 3)
  assert.equal(read(w.counters, 3), 1)
  assert.throws(() => attach(v.sab, { ...cfg, windowSeconds: 11 }), /another configuration/)
  assert.throws(() => attach(new SharedArrayBuffer(v.sab.byteLength), cfg), /magic/)
})

test('counters are 64-bit: they carry past 2^32', () => {
  const { counters } = create(cfg)
  Atomics.store(counters, 0, 0xffffffff - 1)
  inc(counters, 0)
  assert.equal(read(counters, 0), 2 ** 32 - 1)
  inc(counters, 0)
  assert.equal(read(counters, 0), 2 ** 32)
  add(counters, 0, 0xffffffff)
  assert.equal(read(counters, 0), 2 ** 33 - 1)
  add(counters, 0, 5)
  assert.equal(read(counters, 0), 2 ** 33 + 4)
  zero(counters, 0)
  assert.equal(read(counters, 0), 0)
})
