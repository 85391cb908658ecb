import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Worker } from 'node:worker_threads'
import fc from 'fast-check'
import { C, create, readCounter, RING_READ, RING_WRITE, type LayoutConfig } from '../../src/shared/layout.js'
import { RingConsumer, RingProducer } from '../../src/shared/ring.js'

const config = (ringCapacity: number): LayoutConfig => ({ ringCapacity, lowestUs: 1, highestUs: 1_000_000, digits: 2, windowSeconds: 1 })

function drainAll (c: RingConsumer): number[] {
  const out: number[] = []
  c.drain((v) => out.push(v))
  return out
}

test('samples come out in the order they went in', () => {
  const v = create(config(1024))
  const p = new RingProducer(v)
  const c = new RingConsumer(v)
  for (let i = 0; i < 500; i++) assert.equal(p.push(i), i + 1)
  assert.deepEqual(drainAll(c), Array.from({ length: 500 }, (_, i) => i))
  assert.equal(c.pending, 0)
})

test('wraps around the end of the slots many times', () => {
  const v = create(config(1024))
  const p = new RingProducer(v)
  const c = new RingConsumer(v)
  let next = 0
  let expected = 0
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 700; i++) p.push(next++)
    for (const value of drainAll(c)) assert.equal(value, expected++)
  }
  assert.equal(expected, 35_000)
  assert.equal(readCounter(v, C.SAMPLES_DROPPED), 0)
})

test('sequence numbers wrap past 2^32 without losing order', () => {
  const v = create(config(1024))
  // Start both sequences just below 2^32, as after about a day at 50k req/s.
  Atomics.store(v.ringIndex, RING_WRITE, 2 ** 32 - 300)
  Atomics.store(v.ringIndex, RING_READ, 2 ** 32 - 300)
  const p = new RingProducer(v)
  const c = new RingConsumer(v)
  for (let i = 0; i < 1000; i++) p.push(i)
  assert.deepEqual(drainAll(c), Array.from({ length: 1000 }, (_, i) => i))
  assert.equal(Atomics.load(v.ringIndex, RING_WRITE), 700)
})

test('a full ring drops the sample, counts it, and never grows', () => {
  const v = create(config(1024))
  const p = new RingProducer(v)
  const c = new RingConsumer(v)
  for (let i = 0; i < 1024; i++) assert.notEqual(p.push(i), -1)
  assert.equal(p.push(9999), -1)
  assert.equal(p.push(9999), -1)
  assert.equal(readCounter(v, C.SAMPLES_DROPPED), 2)
  const out = drainAll(c)
  assert.equal(out.length, 1024)
  assert.equal(out.at(-1), 1023)
  assert.equal(p.push(5), 1) // room again after the drain
})

test('drain(until) stops at a given write sequence', () => {
  const v = create(config(1024))
  const p = new RingProducer(v)
  const c = new RingConsumer(v)
  for (let i = 0; i < 10; i++) p.push(i)
  const mark = p.writeSequence
  for (let i = 10; i < 15; i++) p.push(i)
  const out: number[] = []
  c.drain((x) => out.push(x), mark)
  assert.deepEqual(out, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  assert.deepEqual(drainAll(c), [10, 11, 12, 13, 14])
})

test('a reset\'s fence: no drain passes it until the reset is carried out; later samples survive it', () => {
  const v = create(config(1024))
  const p = new RingProducer(v)
  const c = new RingConsumer(v)
  assert.equal(c.discardToFence(), false, 'no reset pending')
  for (let i = 0; i < 5; i++) p.push(i)
  assert.deepEqual(drainAll(c), [0, 1, 2, 3, 4])
  for (let i = 5; i < 8; i++) p.push(i)
  p.fence()
  for (let i = 8; i < 12; i++) p.push(i)
  assert.deepEqual(drainAll(c), [5, 6, 7], 'a drain stops at the fence')
  assert.deepEqual(drainAll(c), [])
  p.fence() // a second reset before the first is carried out
  p.push(12)
  assert.equal(c.discardToFence(), true)
  assert.equal(c.discardToFence(), false, 'one task carries out every reset made so far')
  assert.deepEqual(drainAll(c), [12], 'what came after the last fence is kept')
})

test('a real second thread consumes while this thread produces', async () => {
  const cfg = config(4096)
  const v = create(cfg)
  const p = new RingProducer(v)
  const expect = 2_000_000
  const worker = new Worker(new URL('../fixtures/ring-consumer.js', import.meta.url), { workerData: { sab: v.sab, config: cfg, expect } })
  const done = new Promise<{ seen: number, errors: number, drains: number }>((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  // Produce every value exactly once, retrying while the ring is full, so the
  // consumer must see 0, 1, 2, … with nothing lost or repeated.
  let fullAt = 0
  for (let i = 0; i < expect; i++) {
    while (p.push(i % 1_000_000) === -1) fullAt++
  }
  const result = await done
  await worker.terminate()
  assert.equal(result.seen, expect)
  assert.equal(result.errors, 0)
  assert.ok(result.drains > 1, 'the consumer drained concurrently, more than once')
  assert.equal(readCounter(v, C.SAMPLES_DROPPED), fullAt)
})

test('property: any interleaving of pushes and drains behaves like a bounded queue', () => {
  fc.assert(fc.property(
    fc.array(fc.oneof(fc.integer({ min: 0, max: 3000 }).map((n) => ({ push: n })), fc.constant({ drain: true })), { maxLength: 60 }),
    (ops) => {
      const v = create(config(1024))
      const p = new RingProducer(v)
      const c = new RingConsumer(v)
      const model: number[] = []
      let value = 0
      let dropped = 0
      for (const op of ops) {
        if ('push' in op) {
          for (let i = 0; i < op.push; i++) {
            const fill = p.push(value)
            if (model.length < 1024) {
              model.push(value)
              assert.ok(fill >= model.length && fill <= 1024, `fill ${fill} for ${model.length}`)
              if (model.length >= 256) assert.equal(fill, model.length)
            } else { assert.equal(fill, -1); dropped++ }
            value++
          }
        } else {
          assert.deepEqual(drainAll(c), model.splice(0))
        }
      }
      assert.equal(c.pending, model.length)
      assert.equal(readCounter(v, C.SAMPLES_DROPPED), dropped)
    }
  ), { numRuns: 200 })
})
