// Single-producer single-consumer ring of latency samples (integer µs) in the
// shared buffer. The main thread produces; the histogram worker consumes.
//
// Invariants: capacity is a power of two; write and read are sequence numbers
// that only grow (mod 2^32, compared as unsigned differences, so they wrap
// safely as long as capacity < 2^31); slot = seq & (capacity - 1);
// empty when write == read; full when write - read == capacity.
// Only the producer stores `write`, only the consumer stores `read`.
//
// A reset (POST /stats/reset) is made by each shard's own thread, between two
// of its requests: it zeroes its counters and sets a fence at its write
// sequence (fence()). Until the worker carries the reset out (resetDone()),
// no drain passes the fence, so the samples the reset wipes are exactly
// those of the requests whose counts it zeroed, whatever the threads do
// meanwhile.

import { C, inc, RING_FENCE, RING_READ, RING_RESETS, RING_RESETS_DONE, RING_WRITE, type Views } from './layout.js'

export class RingProducer {
  readonly capacity: number
  readonly #mask: number
  readonly #slots: Uint32Array
  readonly #index: Uint32Array
  readonly #counters: Uint32Array
  /** Our own copy of `write`: the producer is its only writer. */
  #write: number
  /**
   * The consumer's `read` as last loaded. It only ever falls behind the real
   * one, which makes the ring look fuller, never emptier; we reload it only
   * when the ring looks a quarter full, saving an atomic load per push.
   */
  #read: number
  readonly #reloadAt: number

  constructor (v: Views) {
    this.capacity = v.ringSlots.length
    this.#mask = this.capacity - 1
    this.#slots = v.ringSlots
    this.#index = v.ringIndex
    this.#counters = v.counters
    this.#write = Atomics.load(v.ringIndex, RING_WRITE)
    this.#read = Atomics.load(v.ringIndex, RING_READ)
    this.#reloadAt = this.capacity >>> 2
  }

  /**
   * Pushes one sample. Returns the ring's fill after the push (exact from a
   * quarter full up, an upper bound below that), or -1 when the ring was full
   * and the sample was dropped (and counted). Never blocks.
   */
  push (value: number): number {
    const w = this.#write
    let used = (w - this.#read) >>> 0
    if (used >= this.#reloadAt) {
      // Loading `read` with Atomics orders it after the consumer's last store.
      this.#read = Atomics.load(this.#index, RING_READ)
      used = (w - this.#read) >>> 0
    }
    if (used >= this.capacity) {
      inc(this.#counters, C.SAMPLES_DROPPED)
      return -1
    }
    this.#slots[w & this.#mask] = value
    // Publishes the slot: the consumer loads `write` with Atomics before it
    // reads slots, so it can never read a slot before the value above is in it.
    const next = (w + 1) >>> 0
    Atomics.store(this.#index, RING_WRITE, next)
    this.#write = next
    return used + 1
  }

  /** The next sequence number to be written; samples before it are in the ring or drained. */
  get writeSequence (): number {
    return this.#write
  }

  /** Marks a reset here: samples before this point are the reset's to discard (see the top of this file). */
  fence (): void {
    Atomics.store(this.#index, RING_FENCE, this.#write)
    // Published after the fence: a consumer that sees the count sees the fence.
    Atomics.add(this.#index, RING_RESETS, 1)
  }
}

export class RingConsumer {
  readonly #mask: number
  readonly #slots: Uint32Array
  readonly #index: Uint32Array

  constructor (v: Views) {
    this.#mask = v.ringSlots.length - 1
    this.#slots = v.ringSlots
    this.#index = v.ringIndex
  }

  /**
   * Hands every sample published so far to `record` with its sequence number,
   * oldest first, and returns how many. `until` (a write sequence) stops
   * early, for a reset that must not eat samples produced after it.
   */
  drain (record: (value: number, seq: number) => void, until?: number): number {
    const end = until ?? this.#end()
    let r = Atomics.load(this.#index, RING_READ)
    const start = r
    while (((end - r) | 0) > 0) {
      record(this.#slots[r & this.#mask] as number, r)
      r = (r + 1) >>> 0
      // Releasing each slot as soon as it is recorded. A thread that dies
      // between the two leaves the sample recorded but not released: the
      // journal (src/worker/journal.ts) tells its replacement so.
      Atomics.store(this.#index, RING_READ, r)
    }
    return (r - start) >>> 0
  }

  /** The write sequence, or a pending reset's fence. */
  #end (): number {
    if (Atomics.load(this.#index, RING_RESETS) === Atomics.load(this.#index, RING_RESETS_DONE)) return Atomics.load(this.#index, RING_WRITE)
    return Atomics.load(this.#index, RING_FENCE)
  }

  /**
   * For a reset: discards every sample before the fence of the resets
   * made so far and marks them carried out. False when none was pending
   * (a reset task tried again, or one an earlier task already covered).
   */
  discardToFence (): boolean {
    const made = Atomics.load(this.#index, RING_RESETS)
    if (made === Atomics.load(this.#index, RING_RESETS_DONE)) return false
    this.drain(() => {}, Atomics.load(this.#index, RING_FENCE))
    Atomics.store(this.#index, RING_RESETS_DONE, made)
    return true
  }

  /** The next sequence number to be read. */
  get readSequence (): number {
    return Atomics.load(this.#index, RING_READ)
  }

  /** The sample at sequence `seq`, published or not. */
  at (seq: number): number {
    return this.#slots[seq & this.#mask] as number
  }

  /** Releases every slot before `seq`: for the journal's recovery only, which finished recording them. */
  release (seq: number): void {
    Atomics.store(this.#index, RING_READ, seq >>> 0)
  }

  /** Samples waiting in the ring. */
  get pending (): number {
    return (Atomics.load(this.#index, RING_WRITE) - Atomics.load(this.#index, RING_READ)) >>> 0
  }
}
