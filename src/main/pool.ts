// The main thread's handle on the histogram worker: a piscina pool of exactly
// one thread, so one owner drains the ring and answers snapshots.
//
// Drains are driven from here, by an unref'd timer with at most one drain in
// flight, and early when the ring passes its high-water mark. piscina runs the
// pool's tasks one at a time on the one thread, so a snapshot never races a
// drain over the histograms.

import { Piscina } from 'piscina'
import { ApiError } from '../shared/errors.js'
import type { Views } from '../shared/layout.js'
import type { Buckets, FaultMode, HistogramExport, Range, Snapshot, Task, TaskResult, WorkerData } from '../shared/protocol.js'

const WORKER = new URL('../worker/drain.js', import.meta.url)
/** A worker is stuck when it has completed no task for two STATS_TIMEOUT_MS, and at least this long. */
const STUCK_MIN_MS = 1000
/** Tasks that may wait behind the running one; beyond that a task fails at once. */
export const MAX_QUEUE = 64

export class HistogramPool {
  readonly #pool: Piscina<Task, TaskResult>
  readonly #timer: NodeJS.Timeout
  readonly #timeoutMs: number
  #draining = false
  #closed = false
  /** performance.now() when a task last completed: a worker that completes none for two timeouts is stuck. */
  #lastDone = performance.now()
  /** Set once the worker has answered a first task. */
  ready = false

  /** `baseline`: the baseline listener's buffer, drained and snapshotted together with the main one. */
  constructor (views: Views, baseline: Views | null, options: { drainIntervalMs: number, statsTimeoutMs: number, faults?: boolean }) {
    const workerData: WorkerData = { sab: views.sab, baselineSab: baseline?.sab ?? null, layout: views.config, faults: options.faults === true }
    this.#pool = new Piscina<Task, TaskResult>({
      filename: WORKER.href,
      minThreads: 1,
      maxThreads: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      // Snapshots wait behind at most a few tasks; beyond that /stats answers 503.
      maxQueue: MAX_QUEUE,
      workerData
    })
    // A worker that dies is replaced by piscina; its task fails and #run tries
    // it once more. Without a listener the 'error' event would crash us.
    this.#pool.on('error', () => {})
    this.#timeoutMs = options.statsTimeoutMs
    // Every task drains first, so a tick soon after one (a /stats poll, a
    // scrape) would only wake the worker again for next to nothing.
    const interval = options.drainIntervalMs
    this.#timer = setInterval(() => { if (performance.now() - this.#lastDone >= interval / 2) this.drainSoon() }, interval)
    this.#timer.unref()
  }

  /** Asks for a drain unless one is already in flight. Cheap enough for the hot path's high-water check. */
  drainSoon (): void {
    if (this.#draining || this.#closed) return
    this.#draining = true
    this.#pool.run({ op: 'drain', second: nowSecond() }).then(
      (r) => { this.#draining = false; this.#lastDone = performance.now(); if (r.ok) this.ready = true },
      () => { this.#draining = false }
    )
  }

  /** Percentiles of the lifetime and the window; `extra` adds a list over a range of its own. */
  async snapshot (percentiles: number[], extra?: { range: Range, percentiles: number[] }): Promise<Snapshot> {
    const task: Task = { op: 'snapshot', second: nowSecond(), percentiles }
    if (extra !== undefined) task.extra = extra
    return await this.#run(task) as Snapshot
  }

  /** The lifetime histogram's sample count at or below each boundary (µs, ascending). */
  async buckets (boundsUs: number[]): Promise<Buckets> {
    return await this.#run({ op: 'buckets', second: nowSecond(), boundsUs }) as Buckets
  }

  async histogram (range: Range, format: 'json' | 'hgrm'): Promise<HistogramExport> {
    return await this.#run({ op: 'histogram', second: nowSecond(), range, format }) as HistogramExport
  }

  /** `until`: each listener's ring write sequence when its counters were zeroed, main first. */
  async reset (until: number[]): Promise<void> {
    await this.#run({ op: 'reset', second: nowSecond(), until })
  }

  /**
   * An injected fault (PODMETER_FAULTS): `throw` or `exit` arm a death in the
   * middle of the worker's next drain, `stall` blocks the worker for `ms`.
   * Resolves when the worker has taken it (for `stall`, when it is over).
   */
  async fault (mode: FaultMode, ms: number): Promise<void> {
    if (this.#closed) throw new ApiError('SHUTTING_DOWN')
    // No timeout: a stall must run its course (or be ended as stuck), not be cut as a slow snapshot.
    const r = await this.#pool.run({ op: 'fault', second: nowSecond(), mode, ms })
    if (!r.ok) throw new ApiError('STATS_UNAVAILABLE', r.message)
  }

  /** Resolves once the worker answers; readiness depends on it. */
  async start (): Promise<void> {
    await this.#run({ op: 'drain', second: nowSecond() })
    this.ready = true
  }

  /**
   * Runs a task within STATS_TIMEOUT_MS. A task whose worker died under it
   * (piscina starts a replacement on the same buffer) is tried once more
   * within the same time: every task here drains first and is idempotent.
   * A full queue fails at once; a timeout ends in 503, and a worker that has
   * completed nothing for two timeouts is stuck and replaced.
   */
  async #run (task: Task): Promise<TaskResult> {
    const signal = AbortSignal.timeout(this.#timeoutMs)
    for (let attempt = 1; ; attempt++) {
      if (this.#closed) throw new ApiError('SHUTTING_DOWN')
      try {
        const result = await this.#pool.run(task, { signal })
        this.#lastDone = performance.now()
        if (!result.ok) throw new ApiError('STATS_UNAVAILABLE', result.message)
        return result
      } catch (err) {
        if (err instanceof ApiError) throw err
        if (signal.aborted) {
          const stuck = this.#replaceIfStuck()
          throw new ApiError('STATS_UNAVAILABLE', `the histogram worker did not answer within ${this.#timeoutMs} ms${stuck ? ' and is being replaced' : ''}; counters are safe, retry`)
        }
        if (/queue is at limit/i.test((err as Error).message)) {
          throw new ApiError('STATS_UNAVAILABLE', `the histogram worker has ${MAX_QUEUE} tasks waiting; counters are safe, retry`)
        }
        if (attempt >= 2) throw new ApiError('STATS_UNAVAILABLE', `the histogram worker failed (${(err as Error).message}); counters are safe, retry`)
      }
    }
  }

  /** Terminates a worker that has completed no task for two timeouts; piscina replaces it. */
  #replaceIfStuck (): boolean {
    if (performance.now() - this.#lastDone < Math.max(2 * this.#timeoutMs, STUCK_MIN_MS)) return false
    const worker = this.#pool.threads[0]
    if (worker === undefined) return false
    this.#lastDone = performance.now()
    // piscina replaces the thread once it has ended; there is nothing to wait for here.
    worker.terminate().catch(() => {})
    return true
  }

  get threads (): number {
    return this.#pool.threads.length
  }

  async close (): Promise<void> {
    this.#closed = true
    clearInterval(this.#timer)
    await this.#pool.destroy()
  }
}

/** Whole seconds of this thread's monotonic clock: the histogram slices' time. */
export function nowSecond (): number {
  return Math.floor(performance.now() / 1000)
}
