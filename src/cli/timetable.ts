// The open loop's timetable for one phase (the warm-up, then the measured
// part): request i is due at start + i · interval, whatever happened before,
// and none is sent at or after `end`. The measured phase gets a timetable of
// its own, anchored when it begins, so a warm-up that fell behind leaves no
// backlog to it.

export class Timetable {
  /** performance.now() ms of the first due time. */
  readonly start: number
  /** ms between due times. */
  readonly interval: number
  /** Requests in the phase. */
  readonly count: number
  /** performance.now() ms at which the phase ends; Infinity when it ends by count (-n). */
  readonly end: number
  /** Index of the next request to send. */
  next = 0

  constructor (start: number, interval: number, count: number, end: number) {
    this.start = start
    this.interval = interval
    this.count = count
    this.end = end
  }

  /** For a phase of `durationMs`: the requests due before its end (at least one). */
  static lasting (start: number, interval: number, durationMs: number): Timetable {
    const count = Math.max(1, Math.ceil(durationMs / interval - 1e-9))
    return new Timetable(start, interval, count, start + durationMs)
  }

  /** The next request's due time; Infinity when the phase has none left. */
  get nextDue (): number {
    return this.next < this.count ? this.start + this.next * this.interval : Number.POSITIVE_INFINITY
  }

  get exhausted (): boolean {
    return this.next >= this.count
  }

  /** How many of the phase's requests were due at or before `t`. */
  dueBy (t: number): number {
    if (t < this.start) return 0
    return Math.min(this.count, Math.floor((t - this.start) / this.interval) + 1)
  }
}
