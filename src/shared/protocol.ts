// The task protocol between the main thread and the histogram worker: what
// the pool is started with, the tasks it runs and what each returns. Types
// and constants only, no side effects (like piscina's common.ts), so both
// threads import it without loading the other's code.
//
// Errors do not cross threads as classes: a worker returns
// { ok: false, code, message } and the main thread turns it into an ApiError.

import type { LayoutConfig } from './layout.js'
import type { DistributionRow, Summary } from './hdr.js'
import type { NativeBuckets } from './native-histogram.js'

/** The worker's workerData. */
export interface WorkerData {
  sab: SharedArrayBuffer
  /** The baseline listener's buffer, or null without one. */
  baselineSab: SharedArrayBuffer | null
  layout: LayoutConfig
  /** The baseline buffer's layout: the main one's, with one shard (the baseline listener has one thread). */
  baselineLayout: LayoutConfig | null
  /** The TCP echo's buffer (TCP_ECHO_PORT) and its layout (one shard), or null without one. */
  tcpEchoSab?: SharedArrayBuffer | null
  tcpEchoLayout?: LayoutConfig | null
  /** PODMETER_FAULTS: the `fault` task works only when this is true. */
  faults: boolean
  /** PODMETER_FAULT_START_MS: with faults on, the first worker blocks this long before it attaches. */
  startStallMs: number
}

/** Injected faults: die in the middle of the next drain (`throw`, `exit`), or block now for `ms`. */
export const FAULT_MODES = ['throw', 'exit', 'stall'] as const
export type FaultMode = typeof FAULT_MODES[number]

/** 'lifetime', or a number of seconds up to the window's. */
export type Range = 'lifetime' | number

/**
 * Every task carries `second`, the main thread's whole seconds of monotonic
 * time (the histogram slices' clock), and drains the rings first.
 */
export type Task =
  | { op: 'drain', second: number }
  | { op: 'snapshot', second: number, percentiles: number[], extra?: { range: Range, percentiles: number[] } }
  /** Carries out the resets the shards have made (their rings' fences, ring.ts). */
  | { op: 'reset', second: number }
  /** `schema`: also the native histogram of that schema (src/shared/native-histogram.ts); `listener`: the TCP echo's instead of the main one's. */
  | { op: 'buckets', second: number, boundsUs: number[], schema?: number, listener?: 'tcp-echo' }
  | { op: 'histogram', second: number, range: Range, format: 'json' | 'hgrm' }
  | { op: 'fault', second: number, mode: FaultMode, ms: number }

/** One listener's figures, µs. */
export interface ListenerSnapshot {
  lifetime: Summary
  current: Summary
}

export interface Snapshot extends ListenerSnapshot {
  ok: true
  /** The baseline listener's histograms, null without one. */
  baseline: ListenerSnapshot | null
  /** The TCP echo's histograms (per message), null without it. */
  tcpEcho?: ListenerSnapshot | null
  /** The snapshot task's `extra` percentiles over its range (main listener). */
  extra?: Summary
  /** Samples recorded by this task's drain. */
  drained: number
}

/** The lifetime histogram as Prometheus `le` buckets. */
export interface Buckets {
  ok: true
  drained: number
  /** Samples at or below each boundary of the task, in its order. */
  cumulative: number[]
  /** Every sample: the +Inf bucket and `_count`. */
  count: number
  /** Exact sum of the samples, µs. */
  sumUs: number
  /** The same counts as native buckets, when the task asked for a schema. */
  native?: NativeBuckets
}

/** A range's histogram: `hgrm` text, or the distribution and encoding. */
export interface HistogramExport {
  ok: true
  drained: number
  count: number
  minUs: number | null
  maxUs: number | null
  meanUs: number | null
  hgrm?: string
  hdr?: string
  distribution?: DistributionRow[]
}

export interface Drained { ok: true, drained: number }

export interface TaskFailure { ok: false, code: string, message: string }

export type TaskResult = Snapshot | Buckets | HistogramExport | Drained | TaskFailure
