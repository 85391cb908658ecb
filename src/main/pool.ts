// The main thread's handle on the histogram worker: a piscina pool of exactly
// one thread, so one owner drains the ring and answers snapshots.
//
// Drains are driven from here, by an unref'd timer with at most one drain in
// flight, and early when the ring passes its high-water mark. piscina runs the
// pool's tasks one at a time on the one thread, so a snapshot never races a
// drain over the histograms. A tick that finds every ring empty sends
// nothing: an idle server wakes no thread and allocates nothing for it (the
// window's slices expire on the next drain or snapshot, whenever it comes).
//
// A task that takes too long is given up here, not aborted: piscina
// terminates the thread of an aborted task, so every slow /stats would kill
// the worker, and a replacement still starting would be killed in turn. The
// worker is replaced only when it had answered and then, with tasks to do,
// answered nothing for two timeouts. While it cannot answer, /stats and
// /metrics serve the last answer they had, marked stale with its age.

import { Piscina } from 'piscina'
import { ApiError } from '../shared/errors.js'
import { RING_READ, RING_WRITE, type Views } from '../shared/layout.js'
import type { Buckets, FaultMode, HistogramExport, Range, Snapshot, Task, TaskResult, WorkerData } from '../shared/protocol.js'

const WORKER = new URL('../worker/drain.js', import.meta.url)
/** A worker is stuck when it has had tasks and completed none for two STATS_TIMEOUT_MS, and at least this long. */
const STUCK_MIN_MS = 1000
/** Tasks that may wait behind the running one; beyond that a task fails at once. */
export const MAX_QUEUE = 64

export class HistogramPool {
  readonly #pool: Piscina<Task, TaskResult>
  readonly #timer: NodeJS.Timeout
  readonly #timeoutMs: number
  #draining = false
  #closed = false
  /** performance.now() when a task last completed. */
  #lastDone = performance.now()
  /** Tasks sent and not yet settled, and when the worker last went from none to some. */
  #inFlight = 0
  #busySince = performance.now()
  /** A `throw` or `exit` fault is armed: the next tick drains, ring empty or not, so the death comes as soon as before. */
  #deathArmed = false
  /** Set once the worker has answered a first task. */
  ready = false
  /** Whether the current thread has answered since it started: one that has not is starting, never stuck. */
  #answered = false
  /** The last answer to each cacheable task, and when it came. */
  readonly #lastGood = new Map<string, { result: TaskResult, at: number }>()

  /** `baseline` and `tcpEcho`: the baseline listener's and the TCP echo's buffers, drained and snapshotted together with the main one. */
  constructor (views: Views, baseline: Views | null, options: { drainIntervalMs: number, statsTimeoutMs: number, faults?: boolean, faultStartMs?: number }, tcpEcho: Views | null = null) {
    const faults = options.faults === true
    const workerData: WorkerData = {
      sab: views.sab,
      baselineSab: baseline?.sab ?? null,
      layout: views.config,
      baselineLayout: baseline?.config ?? null,
      tcpEchoSab: tcpEcho?.sab ?? null,
      tcpEchoLayout: tcpEcho?.config ?? null,
      faults,
      startStallMs: faults ? options.faultStartMs ?? 0 : 0
    }
    this.#pool = new Piscina<Task, TaskResult>({
      filename: WORKER.href,
      minThreads: 1,
      maxThreads: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      // Nothing reads piscina's run and wait time histograms (pool.runTime,
      // pool.utilization): without them no task is timed.
      recordTiming: false,
      // Snapshots wait behind at most a few tasks; beyond that /stats answers 503.
      maxQueue: MAX_QUEUE,
      workerData
    })
    // A worker that dies is replaced by piscina; its task fails and #run tries
    // it once more. Without a listener the 'error' event would crash us.
    this.#pool.on('error', () => {})
    this.#pool.on('workerCreate', () => { this.#answered = false })
    this.#timeoutMs = options.statsTimeoutMs
    // Every task drains first, so a tick soon after one (a /stats poll, a
    // scrape) would only wake the worker again for next to nothing; a tick
    // with every ring empty has nothing to drain at all.
    const interval = options.drainIntervalMs
    const buffers = [views, baseline, tcpEcho].filter((v) => v !== null)
    this.#timer = setInterval(() => {
      if (performance.now() - this.#lastDone < interval / 2) return
      if (!this.#deathArmed && !buffers.some(published)) return
      this.drainSoon()
    }, interval)
    this.#timer.unref()
  }

  /** Asks for a drain unless one is already in flight. Cheap enough for the hot path's high-water check. */
  drainSoon (): void {
    if (this.#draining || this.#closed) return
    this.#draining = true
    this.#deathArmed = false
    this.#send({ op: 'drain', second: nowSecond() }).then(
      (r) => { this.#draining = false; if (r.ok) this.#done() },
      () => { this.#draining = false }
    )
  }

  /** Percentiles of the lifetime and the window; `extra` adds a list over a range of its own. */
  async snapshot (percentiles: number[], extra?: { range: Range, percentiles: number[] }): Promise<Snapshot & Staleness> {
    const task: Task = { op: 'snapshot', second: nowSecond(), percentiles }
    if (extra !== undefined) task.extra = extra
    // Only the default snapshot is kept: ?percentiles= lists are the caller's, unbounded.
    return await this.#cached(extra === undefined ? `snapshot ${percentiles.join()}` : undefined, task) as Snapshot & Staleness
  }

  /** The lifetime histogram's sample count at or below each boundary (µs, ascending), and its native buckets of `schema` when given; the TCP echo's with `listener`. */
  async buckets (boundsUs: number[], schema?: number, listener?: 'tcp-echo'): Promise<Buckets & Staleness> {
    const task: Task = { op: 'buckets', second: nowSecond(), boundsUs }
    if (schema !== undefined) task.schema = schema
    if (listener !== undefined) task.listener = listener
    return await this.#cached(`buckets ${listener ?? 'main'} ${schema ?? '-'} ${boundsUs.join()}`, task) as Buckets & Staleness
  }

  /**
   * #run, falling back on the last answer under `key` (with its age) when
   * the worker cannot answer now: a dying or replaced worker does not take
   * /stats and /metrics down with it. With nothing to fall back on, 503.
   */
  async #cached (key: string | undefined, task: Task): Promise<TaskResult & Staleness> {
    try {
      const result = await this.#run(task)
      if (key !== undefined) this.#lastGood.set(key, { result, at: performance.now() })
      return result
    } catch (err) {
      const last = key === undefined ? undefined : this.#lastGood.get(key)
      if (last === undefined || !(err instanceof ApiError) || err.code !== 'STATS_UNAVAILABLE') throw err
      return { ...last.result, staleMs: performance.now() - last.at }
    }
  }

  async histogram (range: Range, format: 'json' | 'hgrm'): Promise<HistogramExport> {
    return await this.#run({ op: 'histogram', second: nowSecond(), range, format }) as HistogramExport
  }

  /** Carries out the resets every shard has made (each zeroed its counters and set its ring's fence). */
  async reset (): Promise<void> {
    // An answer from before the reset is no answer for after it.
    this.#lastGood.clear()
    await this.#run({ op: 'reset', second: nowSecond() })
  }

  /**
   * An injected fault (PODMETER_FAULTS): `throw` or `exit` arm a death in the
   * middle of the worker's next drain, `stall` blocks the worker for `ms`.
   * Resolves when the worker has taken it (for `stall`, when it is over).
   */
  async fault (mode: FaultMode, ms: number): Promise<void> {
    if (this.#closed) throw new ApiError('SHUTTING_DOWN')
    // No timeout: a stall must run its course (or be ended as stuck), not be cut as a slow snapshot.
    const r = await this.#send({ op: 'fault', second: nowSecond(), mode, ms })
    if (!r.ok) throw new ApiError('STATS_UNAVAILABLE', r.message)
    if (mode !== 'stall') this.#deathArmed = true
  }

  /**
   * Resolves once the worker first answers, however long it takes to start
   * (a CPU-throttled pod's first worker can take seconds): readiness depends
   * on it, listening does not. Rejects only if the worker cannot start.
   */
  async start (): Promise<void> {
    await this.#send({ op: 'drain', second: nowSecond() })
    this.#done()
  }

  /** Every task goes through here: how many are in flight, and since when the worker has had any, tell a stuck worker from an idle one. */
  async #send (task: Task): Promise<TaskResult> {
    if (this.#inFlight++ === 0) this.#busySince = performance.now()
    try {
      return await this.#pool.run(task)
    } finally {
      this.#inFlight--
    }
  }

  #done (): void {
    this.#lastDone = performance.now()
    this.#answered = true
    this.ready = true
  }

  /**
   * Runs a task within STATS_TIMEOUT_MS. A task whose worker died under it
   * (piscina starts a replacement on the same buffer) is tried once more
   * within the same time: every task here drains first and is idempotent.
   * A full queue fails at once; a timeout ends in 503 while the task runs
   * on, and a worker that answered before and has completed nothing for two
   * timeouts is stuck and replaced.
   */
  async #run (task: Task): Promise<TaskResult> {
    const deadline = performance.now() + this.#timeoutMs
    for (let attempt = 1; ; attempt++) {
      if (this.#closed) throw new ApiError('SHUTTING_DOWN')
      try {
        const result = await this.#within(this.#send(task), deadline)
        if (!result.ok) throw new ApiError('STATS_UNAVAILABLE', result.message)
        return result
      } catch (err) {
        if (err instanceof ApiError) throw err
        if (err === TIMED_OUT) {
          const stuck = this.#replaceIfStuck()
          throw new ApiError('STATS_UNAVAILABLE', `the histogram worker did not answer within ${this.#timeoutMs} ms${stuck ? ' and is being replaced' : ''}; counters are safe, retry`)
        }
        if (/queue is at limit/i.test((err as Error).message)) {
          // Tasks given up on still wait their turn: a stuck worker fills the queue.
          const stuck = this.#replaceIfStuck()
          throw new ApiError('STATS_UNAVAILABLE', `the histogram worker has ${MAX_QUEUE} tasks waiting${stuck ? ' and is being replaced' : ''}; counters are safe, retry`)
        }
        if (attempt >= 2) throw new ApiError('STATS_UNAVAILABLE', `the histogram worker failed (${(err as Error).message}); counters are safe, retry`)
      }
    }
  }

  /** `running`, or TIMED_OUT at `deadline`; the task itself goes on and still counts as an answer when it ends. */
  async #within (running: Promise<TaskResult>, deadline: number): Promise<TaskResult> {
    let timer: NodeJS.Timeout | undefined
    const answered = running.then((r) => { this.#done(); return r })
    answered.catch(() => {})
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(TIMED_OUT), Math.max(0, deadline - performance.now()))
    })
    try {
      return await Promise.race([answered, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * Terminates a worker that answered before and has completed no task for
   * two timeouts while it had tasks (an idle spell before does not count);
   * piscina replaces it.
   */
  #replaceIfStuck (): boolean {
    if (!this.#answered) return false
    if (performance.now() - Math.max(this.#lastDone, this.#busySince) < Math.max(2 * this.#timeoutMs, STUCK_MIN_MS)) return false
    const worker = this.#pool.threads[0]
    if (worker === undefined) return false
    this.#answered = false
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

/** Whether any shard's ring of a buffer holds a sample the worker has not drained. */
function published (v: Views): boolean {
  return v.shards.some((s) => Atomics.load(s.ringIndex, RING_WRITE) !== Atomics.load(s.ringIndex, RING_READ))
}

/** An answer served from the last good one: how old it is, in ms. */
export interface Staleness { staleMs?: number }

const TIMED_OUT = Symbol('timed out')

/** Whole seconds of this thread's monotonic clock: the histogram slices' time. */
export function nowSecond (): number {
  return Math.floor(performance.now() / 1000)
}
