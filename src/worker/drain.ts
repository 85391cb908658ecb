// The piscina worker: the only thread that touches the histograms. Every task
// first drains the ring, so a snapshot always includes every sample published
// before it was asked for.
//
// With piscina's default `atomics: 'sync'` an idle worker is parked in
// Atomics.wait, so nothing here may rely on timers: the main thread drives
// every drain.

import { workerData } from 'piscina'
import { add, attach, C, inc, zero, type LayoutConfig } from '../shared/layout.js'
import { RingConsumer } from '../shared/ring.js'
import { HistogramStore, type Summary } from './histograms.js'

export interface WorkerData {
  sab: SharedArrayBuffer
  layout: LayoutConfig
}

export type Task =
  | { op: 'drain', second: number }
  | { op: 'snapshot', second: number, percentiles: number[] }
  | { op: 'reset', second: number, until: number }

export interface Snapshot {
  ok: true
  lifetime: Summary
  current: Summary
  /** Samples recorded by this task's drain. */
  drained: number
}

export type TaskResult = Snapshot | { ok: true, drained: number } | { ok: false, code: string, message: string }

const { sab, layout } = workerData as WorkerData
const views = attach(sab, layout)
const ring = new RingConsumer(views)
const store = new HistogramStore(views)
inc(views.counters, C.WORKER_STARTS)

function drain (second: number): number {
  store.rotate(second)
  const n = ring.drain(store.record)
  store.flush()
  if (n > 0) add(views.counters, C.SAMPLES_RECORDED, n)
  return n
}

export default function run (task: Task): TaskResult {
  switch (task.op) {
    case 'drain':
      return { ok: true, drained: drain(task.second) }
    case 'snapshot': {
      const drained = drain(task.second)
      return { ok: true, drained, lifetime: store.lifetime(task.percentiles), current: store.current(task.percentiles) }
    }
    case 'reset': {
      // Samples up to `until` were produced before the counters were zeroed:
      // discard them. Later ones stay in the ring for the next drain.
      ring.drain(() => {}, task.until)
      store.reset()
      store.rotate(task.second)
      zero(views.counters, C.SAMPLES_CLAMPED)
      zero(views.counters, C.SAMPLES_RECORDED)
      return { ok: true, drained: 0 }
    }
    default:
      return { ok: false, code: 'BAD_TASK', message: `unknown task ${JSON.stringify(task)}` }
  }
}
