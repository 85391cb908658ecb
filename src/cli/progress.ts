// Live progress of a load run on stderr: a bar with the current rate and p99,
// redrawn 4 times a second, on a terminal; one plain line a second
// otherwise (a log, a CI job, a pipe).

import type { LoadRun } from './engine.js'
import { fmtInt, fmtMs } from './format.js'
import { valuesAt } from '../shared/hdr.js'

export class Progress {
  readonly #run: LoadRun
  readonly #out: NodeJS.WriteStream
  readonly #tty: boolean
  readonly #timer: NodeJS.Timeout
  readonly #label: string
  #lastAt: number
  #lastResponses = 0

  constructor (run: LoadRun, out: NodeJS.WriteStream = process.stderr, label = '') {
    this.#run = run
    this.#out = out
    this.#tty = out.isTTY === true
    this.#label = label === '' ? '' : label + ' '
    this.#lastAt = performance.now()
    this.#timer = setInterval(() => this.#draw(), this.#tty ? 250 : 1000)
    this.#timer.unref()
  }

  #draw (): void {
    const run = this.#run
    const now = performance.now()
    const rec = run.rec
    const answered = rec.responses + run.warmupResponses
    const rate = ((answered - this.#lastResponses) * 1000) / Math.max(now - this.#lastAt, 1)
    this.#lastAt = now
    this.#lastResponses = answered
    const p99 = rec.e2e.count === 0 ? null : (valuesAt(rec.e2e.h, [99])['99'] ?? null)
    const warming = now < run.measureStart
    const figures = `${fmtInt(rate)} req/s  p99 ${fmtMs(p99 === null ? null : p99 / 1000)} ms  ${fmtInt(rec.responses)} answered  ${fmtInt(rec.errorCount)} errors`
    const fraction = this.#fraction(now)
    if (this.#tty) {
      const width = 24
      const filled = Math.round(fraction * width)
      const bar = warming ? 'warming up'.padEnd(width, ' ') : '#'.repeat(filled) + '-'.repeat(width - filled)
      this.#out.write(`\r\x1b[K${this.#label}[${bar}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${figures}`)
    } else {
      const elapsed = ((now - run.startAt) / 1000).toFixed(0)
      this.#out.write(`${this.#label}${elapsed}s ${warming ? 'warming up ' : ''}${Math.floor(fraction * 100)}%  ${figures}\n`)
    }
  }

  #fraction (now: number): number {
    const run = this.#run
    if (now < run.measureStart) return 0
    if (run.plannedEnd !== undefined) return Math.min(1, (now - run.measureStart) / Math.max(run.plannedEnd - run.measureStart, 1))
    const total = run.rec.sent + run.remaining
    return total > 0 ? Math.min(1, run.rec.responses / total) : 1
  }

  stop (): void {
    clearInterval(this.#timer)
    if (this.#tty) this.#out.write('\r\x1b[K')
  }
}
