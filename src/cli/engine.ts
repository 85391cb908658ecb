// The load generator's engine, on undici's low-level Client.dispatch.
//
// Each connection is one undici Client with `pipelining` slots; a slot is a
// reusable handler object that carries one request at a time, so a request
// allocates nothing of ours (undici still builds its Request). The request
// options are built once. Clients are created with pipelining ≥ 2 so that a
// slot dispatching its next request from onResponseEnd writes it at once: with
// pipelining 1 undici waits a whole event-loop turn before reusing a socket,
// which cost about a quarter of the request rate here.
//
// Closed loop: every slot sends its next request as soon as its response
// ends. Open loop (--qps): request i is due at start + i / rate, whatever
// happened before; a free slot sends it when due, and when none is free it
// waits for one, so latency counted from the due time includes the time a
// stalled server made it wait (coordinated omission corrected, as wrk2). The
// send time is taken when undici writes the request (onRequestStart), so
// undici's own queueing is not counted as network time.

import type { IncomingHttpHeaders } from 'node:http'
import { Client, type Dispatcher } from 'undici'
import type { LoadOptions } from './load-options.js'
import { Recorder } from './recorder.js'
import { serverTimingUs } from './server-timing.js'

/** One request at a time on a connection: undici's handler for it, reused for the next. */
class Slot implements Dispatcher.DispatchHandler {
  readonly run: LoadRun
  readonly client: Client
  /** performance.now() ms when the request was due (open loop). */
  due = 0
  /** When undici wrote it. */
  sent = 0
  status = 0
  serverUs = -1
  measured = false

  constructor (run: LoadRun, client: Client) {
    this.run = run
    this.client = client
  }

  onRequestStart (): void {
    this.sent = performance.now()
  }

  onResponseStart (_controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    this.status = status
    this.serverUs = serverTimingUs(headers['server-timing'])
  }

  onResponseData (_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.measured) this.run.rec.bytes += chunk.length
  }

  onResponseEnd (): void {
    this.run.complete(this)
  }

  onResponseError (_controller: Dispatcher.DispatchController, err: Error): void {
    this.run.failed(this, err)
  }
}

export class LoadRun {
  readonly rec: Recorder
  readonly options: LoadOptions
  readonly open: boolean
  readonly startAt: number
  readonly measureStart: number
  /** Closed loop: no measured request is sent at or after this (Infinity with -n). */
  readonly deadline: number
  /** performance.now() when the measured part is expected to end, for progress; undefined with -n in closed loop. */
  readonly plannedEnd: number | undefined
  readonly done: Promise<void>
  connectionsOpened = 0
  /** Answers to warm-up requests (not measured). */
  warmupResponses = 0
  lastEnd = 0
  /** Measured requests still in flight when a stopped run was cut short: neither answered nor failed. */
  cancelled = 0
  readonly #clients: Client[] = []
  readonly #dispatch: Dispatcher.DispatchOptions
  readonly #idle: Slot[] = []
  #resolve!: () => void
  #inFlight = 0
  #remaining: number
  #stopping = false
  #finished = false
  // Open loop timetable: request i is due at startAt + i * interval.
  readonly #interval: number
  readonly #warmupCount: number
  readonly #total: number
  #next = 0
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined
  #hardStop: NodeJS.Timeout | undefined

  constructor (options: LoadOptions) {
    this.options = options
    this.open = options.qps !== undefined
    this.rec = new Recorder(this.open)
    this.done = new Promise((resolve) => { this.#resolve = resolve })
    const timeoutMs = options.timeoutUs / 1000
    const url = options.url
    this.#dispatch = {
      path: url.pathname + url.search,
      method: options.method,
      headers: options.headers,
      body: options.body ?? null,
      // Keep GETs pipelined when asked, and HEAD on its connection.
      blocking: false,
      reset: false
    }
    for (let c = 0; c < options.connections; c++) {
      const client = new Client(url.origin, {
        pipelining: Math.max(2, options.pipelining),
        connectTimeout: timeoutMs,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        keepAliveTimeout: 60_000
      })
      client.on('connect', () => { this.connectionsOpened++ })
      this.#clients.push(client)
      for (let p = 0; p < options.pipelining; p++) this.#idle.push(new Slot(this, client))
    }
    this.startAt = performance.now()
    const warmupMs = options.warmupUs / 1000
    this.measureStart = this.startAt + warmupMs
    const durationMs = options.durationUs === undefined ? undefined : options.durationUs / 1000
    this.deadline = durationMs === undefined ? Number.POSITIVE_INFINITY : this.measureStart + durationMs
    this.#remaining = options.requests ?? Number.POSITIVE_INFINITY
    if (options.qps === undefined) {
      this.#interval = 0
      this.#warmupCount = 0
      this.#total = 0
      this.plannedEnd = durationMs === undefined ? undefined : this.deadline
    } else {
      this.#interval = 1000 / options.qps
      this.#warmupCount = Math.ceil(warmupMs / this.#interval)
      const measured = options.requests ?? Math.max(1, Math.floor((durationMs as number) * options.qps / 1000))
      this.#total = this.#warmupCount + measured
      this.plannedEnd = this.startAt + this.#total * this.#interval
    }
    // The measured part starts when its first request is due.
    if (this.open) this.measureStart = this.startAt + this.#warmupCount * this.#interval
    if (this.open) this.#tick()
    else for (const slot of this.#idle.splice(0)) this.#sendClosed(slot, this.startAt)
    this.#checkDone()
  }

  get inFlight (): number {
    return this.#inFlight
  }

  /** Measured requests the plan still has to send; Infinity in closed loop with -d. */
  get remaining (): number {
    return this.open ? this.#total - Math.max(this.#next, this.#warmupCount) : this.#remaining
  }

  #sendClosed (slot: Slot, now: number): void {
    if (this.#stopping) { this.#rest(slot); return }
    const measured = now >= this.measureStart
    if (measured) {
      if (now >= this.deadline || this.#remaining <= 0) { this.#rest(slot); return }
      this.#remaining--
      this.rec.sent++
    }
    slot.measured = measured
    slot.due = now
    this.#inFlight++
    slot.client.dispatch(this.#dispatch, slot)
  }

  #sendOpen (slot: Slot, i: number): void {
    slot.due = this.startAt + i * this.#interval
    slot.measured = i >= this.#warmupCount
    if (slot.measured) this.rec.sent++
    this.#inFlight++
    slot.client.dispatch(this.#dispatch, slot)
  }

  /** Sends every due request that has a free slot, then sleeps until the next is due. */
  readonly #tick = (): void => {
    this.#timer = undefined
    const now = performance.now()
    while (!this.#stopping && this.#next < this.#total && this.startAt + this.#next * this.#interval <= now && this.#idle.length > 0) {
      this.#sendOpen(this.#idle.pop() as Slot, this.#next++)
    }
    this.#wake()
  }

  #wake (): void {
    if (this.#timer !== undefined || this.#stopping || this.#next >= this.#total || this.#idle.length === 0) return
    const wait = this.startAt + this.#next * this.#interval - performance.now()
    // Node's timers have 1 ms resolution: sleep until about 1 ms before the
    // due time, then yield turn by turn, so requests leave on time.
    this.#timer = wait > 1.5 ? setTimeout(this.#tick, wait - 1) : setImmediate(this.#tick)
  }

  complete (slot: Slot): void {
    const end = performance.now()
    this.#inFlight--
    if (slot.measured) {
      const sentUs = Math.round((end - slot.sent) * 1000)
      this.rec.record(slot.status, this.open ? Math.round((end - slot.due) * 1000) : sentUs, sentUs, slot.serverUs)
      this.lastEnd = end
    } else {
      this.warmupResponses++
    }
    this.#after(slot, end)
  }

  failed (slot: Slot, err: Error): void {
    if (this.#finished) return
    if (slot.measured) {
      this.rec.fail(err)
      this.lastEnd = performance.now()
    }
    // undici may fail a request inside dispatch(): go on from a fresh turn, not recursively.
    setImmediate(() => { this.#inFlight--; this.#after(slot, performance.now()) })
  }

  #after (slot: Slot, now: number): void {
    if (!this.open) { this.#sendClosed(slot, now); return }
    if (!this.#stopping && this.#next < this.#total && this.startAt + this.#next * this.#interval <= now) {
      this.#sendOpen(slot, this.#next++)
      return
    }
    this.#rest(slot)
  }

  #rest (slot: Slot): void {
    this.#idle.push(slot)
    if (this.open) this.#wake()
    this.#checkDone()
  }

  #checkDone (): void {
    if (this.#finished || this.#inFlight > 0) return
    if (this.open && !this.#stopping && this.#next < this.#total) return
    if (!this.open && this.#idle.length < this.options.connections * this.options.pipelining) return
    this.#finish()
  }

  /** Stops sending; requests in flight get up to `graceMs` to finish, then their connections are cut. */
  stop (graceMs = this.options.timeoutUs / 1000): void {
    if (this.#stopping) return
    this.#stopping = true
    if (this.#timer !== undefined) { clearTimeout(this.#timer as NodeJS.Timeout); clearImmediate(this.#timer as NodeJS.Immediate) }
    this.#hardStop = setTimeout(() => {
      this.cancelled += this.#inFlight
      this.#finish()
    }, graceMs)
    this.#checkDone()
  }

  #finish (): void {
    if (this.#finished) return
    this.#finished = true
    if (this.#hardStop !== undefined) clearTimeout(this.#hardStop)
    if (this.#timer !== undefined) { clearTimeout(this.#timer as NodeJS.Timeout); clearImmediate(this.#timer as NodeJS.Immediate) }
    Promise.all(this.#clients.map(async (c) => await c.destroy())).then(() => this.#resolve(), () => this.#resolve())
  }
}
