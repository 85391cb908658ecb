import assert from 'node:assert/strict'
import { test } from 'node:test'
import { add, attach, C, create, inc, read, readCounter, readStatus, readStatusClass, shard, zero, zeroShardCounters, type LayoutConfig } from '../../src/shared/layout.js'

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

test('status codes 200..599 each have a counter; classes are their sums; a reset keeps the worker\'s counters', () => {
  const v = create(cfg)
  for (const [code, times] of [[200, 3], [204, 1], [301, 2], [404, 1], [503, 4], [599, 1]] as const) {
    for (let i = 0; i < times; i++) inc(v.counters, C.STATUS + code - 200)
  }
  assert.equal(readStatus(v, 200), 3)
  assert.equal(readStatus(v, 599), 1)
  assert.deepEqual([200, 300, 400, 500].map((c) => readStatusClass(v, c)), [4, 2, 1, 5])
  inc(v.counters, C.REQUESTS)
  inc(v.counters, C.SAMPLES_CLAMPED)
  for (const i of [C.CONNECTIONS_OPENED, C.CONNECTIONS_OPENED, C.CONNECTIONS_CLOSED, C.CONNECTIONS_REJECTED, C.REFUSED + 4]) inc(v.counters, i)
  zeroShardCounters(v.counters)
  assert.equal(readCounter(v, C.REQUESTS), 0)
  assert.deepEqual([200, 300, 400, 500].map((c) => readStatusClass(v, c)), [0, 0, 0, 0])
  assert.equal(readCounter(v, C.SAMPLES_CLAMPED), 1, 'the worker zeroes its own')
  assert.deepEqual([C.CONNECTIONS_OPENED, C.CONNECTIONS_CLOSED].map((i) => readCounter(v, i)), [2, 1], 'open connections are a level, not reset')
  assert.deepEqual([C.CONNECTIONS_REJECTED, C.REFUSED + 4].map((i) => readCounter(v, i)), [0, 0])
})

test('shards: each has its own counters and ring; figures are their sums; the histograms are shared', () => {
  const v = create({ ...cfg, shards: 3 })
  assert.equal(v.shards.length, 3)
  const [a, b, c] = [shard(v, 0), shard(v, 1), shard(v, 2)]
  inc(a.counters, C.REQUESTS)
  inc(b.counters, C.REQUESTS)
  inc(b.counters, C.REQUESTS)
  inc(c.counters, C.STATUS + 503 - 200)
  inc(b.counters, C.STATUS + 200 - 200)
  assert.deepEqual([a, b, c].map((s) => read(s.counters, C.REQUESTS)), [1, 2, 0])
  assert.equal(readCounter(v, C.REQUESTS), 3)
  assert.equal(readCounter(b, C.REQUESTS), 3, 'any shard\'s Views read the sum')
  assert.equal(readStatus(v, 503), 1)
  assert.deepEqual([200, 500].map((k) => readStatusClass(v, k)), [1, 1])
  // Rings and counters never overlap; histograms and journal are one.
  const regions = v.shards.flatMap((s) => [s.counters, s.ringIndex, s.ringSlots]).concat([v.journal as unknown as Uint32Array, v.cumulativeCounts as unknown as Uint32Array])
  const spans = regions.map((r) => [r.byteOffset, r.byteOffset + r.byteLength] as const).sort((x, y) => x[0] - y[0])
  for (let i = 1; i < spans.length; i++) assert.ok((spans[i] as readonly number[])[0] as number >= ((spans[i - 1] as readonly number[])[1] as number), 'regions are disjoint')
  assert.equal(b.cumulativeCounts, v.cumulativeCounts)
  assert.equal(b.journal, v.journal)
  assert.throws(() => shard(v, 3), /no shard 3/)
  assert.throws(() => attach(v.sab, { ...cfg, shards: 2 }), /another configuration/)
  assert.equal(attach(v.sab, { ...cfg, shards: 3 }).shards.length, 3)
})
