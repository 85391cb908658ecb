// What one load run measured: per response, end-to-end latency, the server's
// own time from its Server-Timing header, and overhead = end to end − server
// time (the network and proxies between client and server); status codes;
// errors by kind. Everything is integer µs so that, request by request,
// end to end = server time + overhead exactly, and so do the sums.
//
// record() runs once per response on the load generator's hot path: a few
// additions and histogram increments, nothing allocated.

import type { JsHistogram } from 'hdr-histogram-js'
import { HIGHEST_US, newHistogram } from '../shared/hdr.js'

/** Exact count, sum, min and max beside a histogram (HDR's own mean is within 0.1 %). */
export class Track {
  readonly h: JsHistogram = newHistogram()
  count = 0
  sum = 0
  min = Number.POSITIVE_INFINITY
  max = 0
  clamped = 0

  record (us: number): void {
    let v = us
    if (v > HIGHEST_US) { v = HIGHEST_US; this.clamped++ }
    this.h.recordValue(v)
    this.count++
    this.sum += v
    if (v < this.min) this.min = v
    if (v > this.max) this.max = v
  }

  get exact (): { sum: number, min: number, max: number } | undefined {
    return this.count === 0 ? undefined : { sum: this.sum, min: this.min, max: this.max }
  }
}

export type ErrorKind = 'timeout' | 'reset' | 'refused' | 'other'

/** Sorts a failed request by what a person would do about it. */
export function errorKind (err: Error & { code?: string }): ErrorKind {
  switch (err.code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return 'timeout'
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return 'reset'
    case 'ECONNREFUSED':
      return 'refused'
    default:
      return 'other'
  }
}

export class Recorder {
  /** End to end: from the scheduled send time in open loop, from the send otherwise. */
  readonly e2e = new Track()
  /** Open loop only: end to end from the actual send, as a client without correction sees it. */
  readonly uncorrected = new Track()
  readonly server = new Track()
  readonly overhead = new Track()
  /** Open loop only: how late each measured request was written against its due time. */
  readonly lag = new Track()
  /** Open loop only: how late it was written after it was due and a connection was free: the client's own delay. */
  readonly ownLag = new Track()
  readonly open: boolean
  readonly statuses = new Float64Array(1000)
  readonly errors: Record<ErrorKind, number> = { timeout: 0, reset: 0, refused: 0, other: 0 }
  /** The first message of each error kind, to show what happened. */
  readonly examples: Partial<Record<ErrorKind, string>> = {}
  responses = 0
  sent = 0
  /** Responses without an `app;dur=` Server-Timing entry: no server time, no overhead. */
  untimed = 0
  /** Responses whose server time exceeded the client's end to end (clock or header trouble); overhead recorded as 0. */
  negative = 0
  /** Response body bytes of measured requests, answered or not. */
  bytes = 0
  /** Request body bytes of measured requests written to a connection. */
  bytesSent = 0
  /** Body bytes of the answered measured responses: their sum, smallest and largest. */
  answeredBytes = 0
  minResponseBytes = Number.POSITIVE_INFINITY
  maxResponseBytes = 0

  constructor (open: boolean) {
    this.open = open
  }

  /** `e2eUs` from the scheduled time, `sentUs` from the actual send (equal in closed loop); `serverUs` < 0 when absent. */
  record (status: number, e2eUs: number, sentUs: number, serverUs: number): void {
    this.responses++
    const s = status < 1000 ? status : 0
    this.statuses[s] = (this.statuses[s] as number) + 1
    this.e2e.record(e2eUs)
    if (this.open) this.uncorrected.record(sentUs)
    if (serverUs < 0) { this.untimed++; return }
    this.server.record(serverUs)
    const overhead = sentUs - serverUs
    if (overhead < 0) { this.negative++; this.overhead.record(0) } else this.overhead.record(overhead)
  }

  /** An answered measured response had `bytes` of body. */
  responseBody (bytes: number): void {
    this.answeredBytes += bytes
    if (bytes < this.minResponseBytes) this.minResponseBytes = bytes
    if (bytes > this.maxResponseBytes) this.maxResponseBytes = bytes
  }

  fail (err: Error & { code?: string }): void {
    const kind = errorKind(err)
    this.errors[kind]++
    this.examples[kind] ??= `${err.code ?? err.name}: ${err.message}`.slice(0, 300)
  }

  /** `n` measured requests still unanswered `ms` after the run's end: counted as timed out. */
  timedOut (n: number, ms: number): void {
    if (n <= 0) return
    this.errors.timeout += n
    this.examples.timeout ??= `${n} still in flight ${ms} ms (--timeout) after the end of the run`
  }

  get errorCount (): number {
    return this.errors.timeout + this.errors.reset + this.errors.refused + this.errors.other
  }

  statusCodes (): Record<string, number> {
    const out: Record<string, number> = {}
    for (let s = 0; s < this.statuses.length; s++) if ((this.statuses[s] as number) > 0) out[String(s)] = this.statuses[s] as number
    return out
  }
}
