// The piscina worker: the only thread that touches the histograms. Every task
// first drains the ring, so a snapshot always includes every sample published
// before it was asked for.
//
// With piscina's default `atomics: 'sync'` an idle worker is parked in
// Atomics.wait, so nothing here may rely on timers: the main thread drives
// every drain.
//
// workerData comes from node:worker_threads, where piscina puts it: importing
// it from 'piscina' would load the whole pool (its queues, its histograms,
// node:assert) into this thread only to read one property.

import { workerData } from 'node:worker_threads'
import { attach, C, inc, readCounter, shard, zero, type LayoutConfig, type Views } from '../shared/layout.js'
import { RingConsumer } from '../shared/ring.js'
import { cumulativeAt, distribution, encode, hgrm } from '../shared/hdr.js'
import { nativeBuckets } from '../shared/native-histogram.js'
import type { Buckets, HistogramExport, ListenerSnapshot, Snapshot, Task, TaskResult, WorkerData } from '../shared/protocol.js'
import { HistogramStore } from './histograms.js'
import { recover } from './journal.js'

/** One listener's samples: its buffer, the consuming end of each shard's ring, and its histograms. */
class Listener {
  readonly views: Views
  /** Shard 0's ring. */
  readonly ring: RingConsumer
  readonly rings: RingConsumer[]
  readonly store: HistogramStore
  readonly #recorders: Array<(us: number, seq: number) => void>

  constructor (sab: SharedArrayBuffer, layout: LayoutConfig) {
    this.views = attach(sab, layout)
    this.rings = this.views.shards.map((_, s) => new RingConsumer(shard(this.views, s)))
    this.ring = this.rings[0] as RingConsumer
    // A predecessor that died mid-drain may have left a sample half recorded,
    // and counts without their exact figures: finish both before reading.
    recover(this.views, this.rings)
    this.store = new HistogramStore(this.views)
    this.store.reconcile()
    this.#recorders = this.rings.map((_, s) => this.store.recorder(s))
  }

  drain (second: number): number {
    this.store.rotate(second)
    let n = 0
    for (let s = 0; s < this.rings.length; s++) n += (this.rings[s] as RingConsumer).drain(this.#recorders[s] as (us: number, seq: number) => void)
    this.store.flush()
    return n
  }

  snapshot (percentiles: number[]): ListenerSnapshot {
    return { lifetime: this.store.lifetime(percentiles), current: this.store.current(percentiles) }
  }

  /**
   * Carries out the resets each shard has made (ring.ts): discards the
   * samples before each ring's fence, then empties the histograms. Samples
   * after a fence were never drained, so they stay for the next drain. Does
   * nothing when no reset is pending (a task tried again on a replacement).
   */
  reset (second: number): void {
    let pending = false
    for (const ring of this.rings) pending = ring.discardToFence() || pending
    if (!pending) return
    this.store.reset()
    this.store.rotate(second)
    zero(this.views.counters, C.SAMPLES_CLAMPED)
  }
}

const { sab, baselineSab, layout, baselineLayout, tcpEchoSab, tcpEchoLayout, faults, startStallMs } = workerData as WorkerData
if (startStallMs > 0 && readCounter(attach(sab, layout), C.WORKER_STARTS) === 0) {
  // PODMETER_FAULT_START_MS: the first worker is slow to start.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, startStallMs)
}
const main = new Listener(sab, layout)
const baseline = baselineSab === null ? null : new Listener(baselineSab, baselineLayout ?? layout)
const tcpEcho = tcpEchoSab == null ? null : new Listener(tcpEchoSab, tcpEchoLayout ?? layout)
// The exports (buckets, histogram, extra percentiles) and injected faults are the main listener's.
const { views, ring, store } = main
inc(views.counters, C.WORKER_STARTS)
/** A death armed by a `fault` task, carried out by the next task. */
let armed: 'throw' | 'exit' | undefined

function drain (second: number): number {
  return main.drain(second) + (baseline === null ? 0 : baseline.drain(second)) + (tcpEcho === null ? 0 : tcpEcho.drain(second))
}

/**
 * Dies as a thread killed in the middle of a drain would, at a point drawn
 * at random: after a random number of whole samples, in the middle of
 * recording the next one (at any of record()'s steps), with the batch's
 * exact figures (count, sum, min, max) never flushed. `exit` ends the thread
 * at once; `throw` throws where piscina cannot catch it (the task never
 * settles), so the thread dies of an uncaught exception.
 */
function die (mode: 'throw' | 'exit', second: number): Promise<never> {
  store.rotate(second)
  const read = ring.readSequence
  const whole = Math.floor(Math.random() * (ring.pending + 1))
  ring.drain(store.record, (read + whole) >>> 0)
  if (ring.pending > 0) {
    const seq = ring.readSequence
    store.stage(ring.at(seq), seq, Math.floor(Math.random() * 5))
  }
  if (mode === 'exit') process.exit(1)
  queueMicrotask(() => { throw new Error('injected fault (PODMETER_FAULTS): the histogram worker threw in the middle of a drain') })
  return new Promise(() => {})
}

function fault (task: Extract<Task, { op: 'fault' }>): TaskResult {
  if (!faults) return { ok: false, code: 'FAULTS_DISABLED', message: 'faults are off (PODMETER_FAULTS)' }
  if (task.mode === 'stall') {
    // Blocks this thread as a stuck drain would: no task runs meanwhile.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, task.ms)
  } else {
    armed = task.mode
  }
  return { ok: true, drained: 0 }
}

export default function run (task: Task): TaskResult | Promise<never> {
  if (armed !== undefined && task.op !== 'fault') return die(armed, task.second)
  switch (task.op) {
    case 'fault':
      return fault(task)
    case 'drain':
      return { ok: true, drained: drain(task.second) }
    case 'snapshot': {
      const drained = drain(task.second)
      const snap: Snapshot = { ok: true, drained, ...main.snapshot(task.percentiles), baseline: baseline?.snapshot(task.percentiles) ?? null, tcpEcho: tcpEcho?.snapshot(task.percentiles) ?? null }
      if (task.extra !== undefined) snap.extra = store.summary(task.extra.range, task.extra.percentiles)
      return snap
    }
    case 'buckets': {
      const drained = drain(task.second)
      const from = task.listener === 'tcp-echo' ? tcpEcho?.store : store
      if (from === undefined) return { ok: false, code: 'BAD_TASK', message: 'no TCP echo listener (TCP_ECHO_PORT is off)' }
      const r = from.range('lifetime')
      // _count and +Inf come from the same counts as the buckets, so the
      // exposition is consistent even if a worker died between recording a
      // sample's counts and its exact figures.
      const out: Buckets = { ok: true, drained, cumulative: cumulativeAt(r.histogram, task.boundsUs), count: r.histogram.totalCount, sumUs: r.sum }
      if (task.schema !== undefined) out.native = nativeBuckets(r.histogram, task.schema)
      return out
    }
    case 'histogram': {
      const drained = drain(task.second)
      const r = store.range(task.range)
      const out: HistogramExport = {
        ok: true,
        drained,
        count: r.histogram.totalCount,
        minUs: r.count > 0 ? r.min : null,
        maxUs: r.count > 0 ? r.max : null,
        meanUs: r.count > 0 ? r.sum / r.count : null
      }
      if (task.format === 'hgrm') out.hgrm = hgrm(r.histogram)
      else { out.hdr = encode(r.histogram); out.distribution = distribution(r.histogram) }
      return out
    }
    case 'reset':
      main.reset(task.second)
      baseline?.reset(task.second)
      tcpEcho?.reset(task.second)
      return { ok: true, drained: 0 }
    default:
      return { ok: false, code: 'BAD_TASK', message: `unknown task ${JSON.stringify(task)}` }
  }
}
