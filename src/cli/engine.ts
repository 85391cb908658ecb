// The load generator's engine: the closed and the open loop over a
// transport (transport.ts): undici's low-level Client.dispatch for the
// closed loop, plain sockets for the open loop.
//
// Each connection carries `pipelining` slots; a slot is a reusable handler
// object that carries one request at a time, so a request allocates nothing
// of ours.
//
// Closed loop: every slot sends its next request as soon as its response
// ends. Open loop (--qps): request i is due at start + i / rate (timetable.ts),
// whatever happened before; a free slot sends it when due, and when none is
// free it waits for one, so latency counted from the due time includes the
// time a stalled server made it wait (coordinated omission corrected, as
// wrk2). Between due times the engine sleeps on a timer, never spins: Node's
// timers have 1 ms resolution, so a request may leave up to about 1 ms after
// it was due, and how late each one left is recorded (client lag), and of
// that, how long it waited after a connection was free as well (the
// client's own delay: the rest was waiting for a connection, which a
// stalled server causes). -d ends the measured part on time: what was due
// and not sent by then is counted as missed, never sent late; requests in
// flight get --timeout, then count as timed out. The send time is taken when
// the request is written (undici's onRequestStart), so a transport's own
// queueing is not counted as network time.

import type { IncomingHttpHeaders } from 'node:http'
import type { Dispatcher } from 'undici'
import type { Exchange } from './http1-connection.js'
import type { LoadOptions } from './load-options.js'
import { Recorder } from './recorder.js'
import { serverTimingUs } from './server-timing.js'
import { Timetable } from './timetable.js'
import type { Transport, TransportConnection } from './transport.js'

/** What a transport talks to: undici's handler interface, or the lean connection's; `measured` for a transport that counts on its own (tcp-transport.ts). */
export type EngineHandler = Dispatcher.DispatchHandler & Exchange & { readonly measured: boolean }

/** One request at a time on a connection: the transport's handler for it, reused for the next. */
class Slot implements EngineHandler {
  readonly run: LoadRun
  readonly connection: TransportConnection<EngineHandler>
  /** performance.now() ms when the request was due (open loop). */
  due = 0
  /** When it could have left: due, and this slot free (open loop). */
  ready = 0
  /** When this slot last became free. */
  freeAt = 0
  /** When it was written. */
  sent = 0
  status = 0
  serverUs = -1
  measured = false
  /** Body bytes of the response so far. */
  received = 0

  constructor (run: LoadRun, connection: TransportConnection<EngineHandler>) {
    this.run = run
    this.connection = connection
  }

  // The lean connection's interface (open loop).
  onWritten (): void {
    this.sent = performance.now()
    if (this.measured) this.run.rec.bytesSent += this.run.bodyBytes
  }

  onHead (status: number, serverTiming: string | undefined): void {
    this.status = status
    this.serverUs = serverTimingUs(serverTiming)
  }

  onBody (bytes: number): void {
    this.received += bytes
    if (this.measured) this.run.rec.bytes += bytes
  }

  onDone (): void {
    this.run.complete(this)
  }

  onFail (err: Error): void {
    this.run.failed(this, err)
  }

  // undici's (closed loop).
  onRequestStart (): void {
    this.sent = performance.now()
    if (this.measured) this.run.rec.bytesSent += this.run.bodyBytes
  }

  onResponseStart (_controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    this.status = status
    this.serverUs = serverTimingUs(headers['server-timing'])
  }

  onResponseData (_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.received += chunk.length
    if (this.measured) this.run.rec.bytes += chunk.length
  }

  onResponseEnd (): void {
    this.run.complete(this)
  }

  onResponseError (_controller: Dispatcher.DispatchController, err: Error): void {
    this.run.failed(this, err)
  }
}

/** The open loop's schedule as it ran: what was due in the measured part, what was sent, what was missed. */
export interface ScheduleFigures {
  /** Measured requests whose due time came before the measured part ended. */
  due: number
  /** Of those, the ones never sent: the client was behind (all slots busy) when the part ended. */
  missed: number
  /** ms from the first due time of the measured part to its end (or the stop). */
  spanMs: number
}

export class LoadRun {
  readonly rec: Recorder
  readonly options: LoadOptions
  /** The request body's length, bytes: what each written request adds to bytes sent. */
  readonly bodyBytes: number
  readonly open: boolean
  readonly startAt: number
  /** performance.now() of the start of the measured part; in open loop set when it begins. */
  measureStart: number
  /** Closed loop: no measured request is sent at or after this (Infinity with -n). */
  readonly deadline: number
  /** performance.now() when the measured part is expected to end, for progress; undefined with -n in closed loop. */
  plannedEnd: number | undefined
  readonly done: Promise<void>
  connectionsOpened = 0
  /** The whole process's CPU time (every thread) from the start of the run to its end, µs. */
  cpu: NodeJS.CpuUsage = { user: 0, system: 0 }
  readonly #cpuStart = process.cpuUsage()
  /** Warm-up requests sent, and answered (not measured). */
  warmupSent = 0
  warmupResponses = 0
  lastEnd = 0
  /** Measured requests still in flight when a run stopped by SIGINT was cut short: neither answered nor failed. */
  cancelled = 0
  /** Open loop: set when the measured part's schedule has ended (by -d, -n or a stop). */
  schedule: ScheduleFigures | undefined
  readonly #transport: Transport<EngineHandler>
  /** Free slots, least recently used first: the open loop spreads its requests over every connection in turn. */
  readonly #idle: Slot[] = []
  #resolve!: () => void
  #inFlight = 0
  #measuredInFlight = 0
  #remaining: number
  #stopping = false
  #finished = false
  // Open loop: the warm-up's timetable, then the measured part's.
  readonly #interval: number
  #phase: 'warmup' | 'measured' | 'done' = 'measured'
  #table: Timetable
  #timer: NodeJS.Timeout | undefined
  /** performance.now() the timer is set for. */
  #wakeAt = Number.POSITIVE_INFINITY
  #hardStop: NodeJS.Timeout | undefined

  constructor (options: LoadOptions, transport: Transport<EngineHandler>) {
    this.options = options
    this.bodyBytes = options.body?.length ?? 0
    this.open = options.qps !== undefined
    this.rec = new Recorder(this.open)
    this.done = new Promise((resolve) => { this.#resolve = resolve })
    this.#transport = transport
    const connections = Array.from({ length: options.connections }, () => transport.connection(() => { this.connectionsOpened++ }))
    for (let p = 0; p < options.pipelining; p++) for (const c of connections) this.#idle.push(new Slot(this, c))
    this.startAt = performance.now()
    const warmupMs = options.warmupUs / 1000
    this.measureStart = this.startAt + warmupMs
    const durationMs = options.durationUs === undefined ? undefined : options.durationUs / 1000
    this.deadline = durationMs === undefined ? Number.POSITIVE_INFINITY : this.measureStart + durationMs
    this.#remaining = options.requests ?? Number.POSITIVE_INFINITY
    this.#interval = options.qps === undefined ? 0 : 1000 / options.qps
    this.plannedEnd = durationMs === undefined ? undefined : this.deadline
    if (!this.open) {
      this.#table = new Timetable(0, 0, 0, 0)
      for (const slot of this.#idle.splice(0)) this.#sendClosed(slot, this.startAt)
    } else {
      if (warmupMs > 0) {
        this.#phase = 'warmup'
        this.#table = Timetable.lasting(this.startAt, this.#interval, warmupMs)
      } else {
        this.#table = this.#measuredTable(this.startAt)
      }
      if (options.requests !== undefined) this.plannedEnd = this.measureStart + options.requests * this.#interval
      this.#tick()
    }
    this.#checkDone()
  }

  get inFlight (): number {
    return this.#inFlight
  }

  /** Measured requests the plan still has to send; Infinity in closed loop with -d. */
  get remaining (): number {
    if (!this.open) return this.#remaining
    if (this.#phase === 'done') return 0
    const o = this.options
    const total = o.requests ?? Math.max(1, Math.ceil((o.durationUs as number) / 1000 / this.#interval - 1e-9))
    return this.#phase === 'warmup' ? total : total - this.#table.next
  }

  #measuredTable (at: number): Timetable {
    this.measureStart = at
    const o = this.options
    if (o.requests !== undefined) return new Timetable(at, this.#interval, o.requests, Number.POSITIVE_INFINITY)
    const durationMs = (o.durationUs as number) / 1000
    this.plannedEnd = at + durationMs
    return Timetable.lasting(at, this.#interval, durationMs)
  }

  #sendClosed (slot: Slot, now: number): void {
    if (this.#stopping) { this.#rest(slot); return }
    const measured = now >= this.measureStart
    if (measured) {
      if (now >= this.deadline || this.#remaining <= 0) { this.#rest(slot); return }
      this.#remaining--
    }
    slot.due = now
    this.#dispatchOn(slot, measured)
  }

  #sendOpen (slot: Slot): void {
    const t = this.#table
    slot.due = t.start + t.next * t.interval
    slot.ready = Math.max(slot.due, slot.freeAt)
    t.next++
    this.#dispatchOn(slot, this.#phase === 'measured')
  }

  #dispatchOn (slot: Slot, measured: boolean): void {
    slot.measured = measured
    slot.sent = 0
    slot.received = 0
    if (measured) { this.rec.sent++; this.#measuredInFlight++ } else this.warmupSent++
    this.#inFlight++
    slot.connection.send(slot)
  }

  /** Moves the open loop on to its next phase when the current one is over. */
  #advance (now: number): void {
    if (this.#phase === 'warmup' && now >= this.#table.end) {
      // Warm-up requests not yet sent are dropped: no backlog carries over.
      this.#phase = 'measured'
      this.#table = this.#measuredTable(now)
    }
    if (this.#phase === 'measured' && (now >= this.#table.end || (this.#table.exhausted && this.#table.end === Number.POSITIVE_INFINITY))) {
      this.#endSchedule(Math.min(now, this.#table.end))
    }
  }

  /** The measured part's schedule is over: nothing more is sent; what is in flight gets --timeout. */
  #endSchedule (at: number): void {
    const t = this.#table
    const due = t.dueBy(at >= t.end ? t.end : at)
    this.schedule = { due, missed: Math.max(0, due - t.next), spanMs: Math.max(0, Math.min(at, t.end) - t.start) }
    this.#phase = 'done'
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#wakeAt = Number.POSITIVE_INFINITY
    if (t.end !== Number.POSITIVE_INFINITY && this.#measuredInFlight > 0) {
      this.#hardStop = setTimeout(() => {
        // Still unanswered after --timeout past the end of the run: timed out.
        this.rec.timedOut(this.#measuredInFlight, this.options.timeoutUs / 1000)
        this.#finish()
      }, this.options.timeoutUs / 1000)
    }
  }

  /** Sends every due request that has a free slot, then sleeps until the next is due or the phase ends. */
  readonly #tick = (): void => {
    this.#timer = undefined
    this.#wakeAt = Number.POSITIVE_INFINITY
    const now = performance.now()
    this.#advance(now)
    while (!this.#stopping && this.#phase !== 'done' && this.#idle.length > 0 && this.#table.nextDue <= now) {
      this.#sendOpen(this.#idle.shift() as Slot)
      if (this.#table.exhausted) this.#advance(now)
    }
    this.#arm(now)
    this.#checkDone()
  }

  /**
   * One timer at a time: for the next due request when a slot is free, and
   * always for the phase's end; a sooner wake replaces a later one. Its 1 ms
   * resolution is most of the client lag. (Sleeping in Atomics.wait for the
   * last millisecond was tried: 0.15 ms of lag instead of 0.5, but three
   * times the CPU on this machine.) The loop's clock is coarse, so about
   * one timer in five fires a little early, finds nothing due and sleeps
   * again; counting the delay from the loop clock was tried and did not help.
   */
  #arm (now: number): void {
    if (this.#stopping || this.#phase === 'done') return
    let wake = this.#table.end
    if (this.#idle.length > 0) wake = Math.min(wake, this.#table.nextDue)

    if (wake >= this.#wakeAt) return
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#wakeAt = wake
    this.#timer = setTimeout(this.#tick, Math.max(1, Math.ceil(wake - now)))
  }

  complete (slot: Slot): void {
    const end = performance.now()
    this.#inFlight--
    if (slot.measured) {
      this.#measuredInFlight--
      const sentUs = Math.round((end - slot.sent) * 1000)
      this.rec.record(slot.status, this.open ? Math.round((end - slot.due) * 1000) : sentUs, sentUs, slot.serverUs)
      this.rec.responseBody(slot.received)
      if (this.open) {
        this.rec.lag.record(Math.max(0, Math.round((slot.sent - slot.due) * 1000)))
        this.rec.ownLag.record(Math.max(0, Math.round((slot.sent - slot.ready) * 1000)))
      }
      this.lastEnd = end
    } else {
      this.warmupResponses++
    }
    this.#after(slot, end)
  }

  failed (slot: Slot, err: Error): void {
    if (this.#finished) return
    if (slot.measured) {
      this.#measuredInFlight--
      this.rec.fail(err)
      this.lastEnd = performance.now()
    }
    // undici may fail a request inside dispatch(): go on from a fresh turn, not recursively.
    setImmediate(() => { this.#inFlight--; this.#after(slot, performance.now()) })
  }

  #after (slot: Slot, now: number): void {
    slot.freeAt = now
    if (!this.open) { this.#sendClosed(slot, now); return }
    this.#advance(now)
    if (!this.#stopping && this.#phase !== 'done' && this.#table.nextDue <= now) {
      this.#sendOpen(slot)
      if (this.#table.exhausted) this.#advance(now)
      this.#arm(now)
      return
    }
    this.#rest(slot)
  }

  #rest (slot: Slot): void {
    this.#idle.push(slot)
    if (this.open) this.#arm(performance.now())
    this.#checkDone()
  }

  #checkDone (): void {
    if (this.#finished || this.#inFlight > 0) return
    if (this.open && !this.#stopping && this.#phase !== 'done') return
    if (!this.open && this.#idle.length < this.options.connections * this.options.pipelining) return
    this.#finish()
  }

  /** Stops sending (SIGINT); requests in flight get up to `graceMs` to finish, then their connections are cut. */
  stop (graceMs = this.options.timeoutUs / 1000): void {
    if (this.#stopping) return
    this.#stopping = true
    if (this.open && this.#phase === 'measured') this.#endSchedule(performance.now())
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    if (this.#hardStop !== undefined) clearTimeout(this.#hardStop)
    this.#hardStop = setTimeout(() => {
      this.cancelled += this.#inFlight
      this.#finish()
    }, graceMs)
    this.#checkDone()
  }

  #finish (): void {
    if (this.#finished) return
    this.#finished = true
    this.cpu = process.cpuUsage(this.#cpuStart)
    if (this.#hardStop !== undefined) clearTimeout(this.#hardStop)
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#transport.close().then(() => this.#resolve(), () => this.#resolve())
  }
}
