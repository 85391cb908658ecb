// A worker may die at any step of recording a sample. For every step and
// many positions in a drain, a "replacement" (recover() and a new store on
// the same memory, as a new thread does) must end with every sample in every
// histogram exactly once. The real thread deaths are in
// test/http/faults.test.ts; here every step is reached on purpose.

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { C, create, readCounter, shard, type LayoutConfig, type Views } from '../../src/shared/layout.js'
import { RingConsumer, RingProducer } from '../../src/shared/ring.js'
import { HistogramStore } from '../../src/worker/histograms.js'
import { recover } from '../../src/worker/journal.js'

const cfg: LayoutConfig = { ringCapacity: 1024, lowestUs: 10, highestUs: 1_000_000, digits: 3, windowSeconds: 3 }

/** What a worker leaves behind after `whole` samples and `steps` of the next one. */
function dieAt (v: Views, whole: number, steps: number): void {
  const ring = new RingConsumer(v)
  const store = new HistogramStore(v)
  store.rotate(7)
  ring.drain(store.record, (ring.readSequence + whole) >>> 0)
  const seq = ring.readSequence
  if (ring.pending > 0) store.stage(ring.at(seq), seq, steps)
}

/** A replacement worker: finishes its predecessor's sample, then drains the rest. */
function replace (v: Views): { ring: RingConsumer, store: HistogramStore } {
  const ring = new RingConsumer(v)
  recover(v, ring)
  const store = new HistogramStore(v)
  store.reconcile()
  store.rotate(7)
  ring.drain(store.record)
  store.flush()
  return { ring, store }
}

function sum (counts: ArrayLike<number>): number {
  let n = 0
  for (let i = 0; i < counts.length; i++) n += counts[i] as number
  return n
}

test('a death at any step of recording a sample: the replacement ends with each sample recorded once', () => {
  // Values in range, one below it and one above it (clamped and counted).
  const values = [120, 5, 3_000_000, 999, 120, 45_000]
  for (let whole = 0; whole < values.length; whole++) {
    for (let steps = 0; steps <= 5; steps++) {
      const v = create(cfg)
      const producer = new RingProducer(v)
      for (const x of values) producer.push(x)
      dieAt(v, whole, steps)
      const { ring, store } = replace(v)
      const at = `dead after ${whole} samples, at step ${steps}`
      assert.equal(sum(v.cumulativeCounts), values.length, `${at}: cumulative`)
      assert.equal(sum(v.windowCounts), values.length, `${at}: window`)
      assert.equal(sum(v.sliceCounts[7 % 4] as Uint32Array), values.length, `${at}: slice`)
      assert.equal(readCounter(v, C.SAMPLES_CLAMPED), 2, `${at}: clamped`)
      assert.equal(store.range('lifetime').count, values.length, `${at}: exact count`)
      assert.equal(ring.pending, 0)
    }
  }
})

test('two deaths in a row, the second before the replacement recorded anything, still count each sample once', () => {
  const v = create(cfg)
  const producer = new RingProducer(v)
  for (let i = 0; i < 100; i++) producer.push(100 + i)
  dieAt(v, 10, 3)
  recover(v, new RingConsumer(v))
  dieAt(v, 0, 2)
  const { store } = replace(v)
  assert.equal(sum(v.cumulativeCounts), 100)
  assert.equal(sum(v.windowCounts), 100)
  assert.equal(store.range('lifetime').count, 100)
})

test('shards: a death while recording a sample of any shard\'s ring; the replacement drains every ring and counts each sample once', () => {
  const values = [[120, 999, 45_000], [5, 130, 3_000_000, 700], [200]]
  const total = values.flat().length
  for (const dyingShard of [0, 1, 2]) {
    for (let steps = 0; steps <= 5; steps++) {
      const v = create({ ...cfg, shards: 3 })
      values.forEach((list, s) => { const p = new RingProducer(shard(v, s)); for (const x of list) p.push(x) })
      // The dead worker: every ring before `dyingShard` drained, then one sample of it half recorded.
      const rings = v.shards.map((_, s) => new RingConsumer(shard(v, s)))
      const dead = new HistogramStore(v)
      dead.rotate(7)
      for (let s = 0; s < dyingShard; s++) (rings[s] as RingConsumer).drain(dead.recorder(s))
      const ring = rings[dyingShard] as RingConsumer
      dead.stage(ring.at(ring.readSequence), ring.readSequence, steps, dyingShard)
      // The replacement.
      const fresh = v.shards.map((_, s) => new RingConsumer(shard(v, s)))
      recover(v, fresh)
      const store = new HistogramStore(v)
      store.reconcile()
      store.rotate(7)
      fresh.forEach((r, s) => r.drain(store.recorder(s)))
      store.flush()
      const at = `shard ${dyingShard}, step ${steps}`
      assert.equal(sum(v.cumulativeCounts), total, `${at}: cumulative`)
      assert.equal(sum(v.windowCounts), total, `${at}: window`)
      assert.equal(readCounter(v, C.SAMPLES_CLAMPED), 2, `${at}: clamped`)
      assert.ok(fresh.every((r) => r.pending === 0), `${at}: every ring drained`)
    }
  }
})
