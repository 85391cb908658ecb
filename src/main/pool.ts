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
import type { Buckets, HistogramExport, Snapshot, Task, TaskResult, WorkerData } from '../worker/drain.js'
import type { Range } from '../worker/histograms.js'

const WORKER = new URL('../worker/drain.js', import.meta.url)

export class HistogramPool {
  readonly #pool: Piscina<Task, TaskResult>
  readonly #timer: NodeJS.Timeout
  readonly #timeoutMs: number
  #draining = false
  #closed = false
  /** Set once the worker has answered a first task. */
  ready = false

  constructor (views: Views, options: { drainIntervalMs: number, statsTimeoutMs: number }) {
    const workerData: WorkerData = { sab: views.sab, layout: views.config }
    this.#pool = new Piscina<Task, TaskResult>({
      filename: WORKER.href,
      minThreads: 1,
      maxThreads: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      // Snapshots wait behind at most a few tasks; beyond that /stats answers 503.
      maxQueue: 64,
      workerData
    })
    // A worker that dies is replaced by piscina; its task fails and is retried
    // by the caller. Without a listener the 'error' event would crash us.
    this.#pool.on('error', () => {})
    this.#timeoutMs = options.statsTimeoutMs
    this.#timer = setInterval(() => this.drainSoon(), options.drainIntervalMs)
    this.#timer.unref()
  }

  /** Asks for a drain unless one is already in flight. Cheap enough for the hot path's high-water check. */
  drainSoon (): void {
    if (this.#draining || this.#closed) return
    this.#draining = true
    this.#pool.run({ op: 'drain', second: nowSecond() }).then(
      (r) => { this.#draining = false; if (r.ok) this.ready = true },
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

  async reset (until: number): Promise<void> {
    await this.#run({ op: 'reset', second: nowSecond(), until })
  }

  /** Resolves once the worker answers; readiness depends on it. */
  async start (): Promise<void> {
    await this.#run({ op: 'drain', second: nowSecond() })
    this.ready = true
  }

  async #run (task: Task): Promise<TaskResult> {
    if (this.#closed) throw new ApiError('SHUTTING_DOWN')
    const signal = AbortSignal.timeout(this.#timeoutMs)
    let result: TaskResult
    try {
      result = await this.#pool.run(task, { signal })
    } catch (err) {
      throw new ApiError('STATS_UNAVAILABLE', signal.aborted
        ? `the histogram worker did not answer within ${this.#timeoutMs} ms; counters are safe, retry`
        : `the histogram worker failed (${(err as Error).message}); counters are safe, retry`)
    }
    if (!result.ok) throw new ApiError('STATS_UNAVAILABLE', result.message)
    return result
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
