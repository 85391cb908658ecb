// The HDR histograms, owned by exactly one thread (the pool's only worker).
//
// cumulative  every sample since start or reset (Float64 counts: exact to 2^53)
// slices      one histogram per second of drain time, the last windowSeconds + 1
// window      the sum of the live slices, kept up to date on every record and
//             by subtracting a slice as it expires, so a window snapshot costs
//             one percentile walk, not windowSeconds merges; a shorter range
//             (?window=N) is merged from its slices on demand, off the hot path
//
// The counts arrays are views into the shared buffer (see layout.ts), so a
// replacement worker continues with everything recorded before it.

import type { JsHistogram } from 'hdr-histogram-js'
import { summarize, type Summary } from '../shared/hdr.js'
import { C, M, read, resetMeta, type Views } from '../shared/layout.js'
import type { Range } from '../shared/protocol.js'
import { apply, J } from './journal.js'
import { SharedHistogram } from './shared-histogram.js'

/** The journal's mark for a sample recorded directly (tests, benchmarks): no ring sequence is ever negative. */
const NOT_FROM_RING = -2

export class HistogramStore {
  readonly cumulative: SharedHistogram
  readonly window: SharedHistogram
  readonly slices: SharedHistogram[]
  readonly #v: Views
  readonly #lowest: number
  readonly #highest: number
  /** Slice being filled, and the second it stands for. */
  #slice: SharedHistogram
  #sliceCounts: Uint32Array
  readonly #cumulativeCounts: Float64Array
  readonly #windowCounts: Float64Array
  #sliceMeta: Float64Array
  /** Index of the slice being filled. */
  #slot = 0
  readonly #journal: Float64Array
  #second = -1
  /** Samples recorded since the last flush(), and their range. */
  #batchCount = 0
  #batchSum = 0
  #batchMin = Number.POSITIVE_INFINITY
  #batchMax = 0
  /** Lazily made: where a range shorter than the window is merged. */
  #scratch: { histogram: SharedHistogram, counts: Float64Array } | undefined

  constructor (v: Views) {
    const { lowestUs, highestUs, digits } = v.config
    this.#v = v
    this.#lowest = lowestUs
    this.#highest = highestUs
    // A journal never written (create() fills it with -1) means no count was
    // ever written either, as each sample's counts follow its journal entry:
    // the first worker on a buffer has nothing to read. Reading the 13 arrays
    // anyway (about 200 k zeros) had V8 compile the loop at start, which
    // cost 5 MiB of idle RSS on Node 24 (docs/operations.md, "Memory").
    const empty = this.#v.journal[J.SEQ] === -1
    this.cumulative = new SharedHistogram(lowestUs, highestUs, digits, v.cumulativeCounts, empty)
    this.window = new SharedHistogram(lowestUs, highestUs, digits, v.windowCounts, empty)
    this.slices = v.sliceCounts.map((counts) => new SharedHistogram(lowestUs, highestUs, digits, counts, empty))
    this.#slice = this.slices[0] as SharedHistogram
    this.#sliceCounts = v.sliceCounts[0] as Uint32Array
    this.#sliceMeta = v.sliceMeta[0] as Float64Array
    this.#cumulativeCounts = v.cumulativeCounts
    this.#windowCounts = v.windowCounts
    this.#journal = v.journal
  }

  /**
   * Brings the exact figures (count, sum, min, max) level with the shared
   * counts, which run ahead of them when a worker died in the middle of a
   * drain: it had counted part of a batch but never flushed the batch's
   * figures (flush() runs once per drain). Those samples keep their place in
   * the histogram; their sum is taken as their count times the histogram's
   * mean, and min and max widen to the histogram's, all within its precision.
   * A replacement calls this once, before its first drain. Returns the
   * lifetime samples recovered.
   */
  reconcile (): number {
    let recovered = 0
    const pairs: Array<[JsHistogram, Float64Array]> = [[this.cumulative, this.#v.histMeta]]
    this.slices.forEach((h, i) => pairs.push([h, this.#v.sliceMeta[i] as Float64Array]))
    for (const [h, meta] of pairs) {
      const missing = h.totalCount - (meta[M.COUNT] as number)
      if (missing <= 0) continue
      if (h === this.cumulative) recovered = missing
      meta[M.COUNT] = h.totalCount
      meta[M.SUM] = (meta[M.SUM] as number) + missing * h.mean
      const min = h.getCountAtIndex(0) > 0 ? 0 : h.minNonZeroValue
      if (min < (meta[M.MIN] as number)) meta[M.MIN] = min
      if (h.maxValue > (meta[M.MAX] as number)) meta[M.MAX] = h.maxValue
    }
    return recovered
  }

  /**
   * Records one sample (integer µs) taken from ring sequence `seq`, clamping
   * it into the range. The three histograms share one bucket structure, so
   * the bucket index is computed once and their counts set directly, through
   * the journal (journal.ts) so that a death at any point here neither loses
   * nor repeats the sample; flush() then brings the histograms' own totals,
   * min and max, and the exact figures, up to date once per drain. (Three
   * recordValue() calls cost about 300 ns a sample.)
   */
  record = (us: number, seq = NOT_FROM_RING): void => {
    this.stage(us, seq, 5)
  }

  /** record() for the samples of shard `shard`'s ring: the journal names the ring. */
  recorder (shard: number): (us: number, seq: number) => void {
    return shard === 0 ? this.record : (us, seq) => { this.stage(us, seq, 5, shard) }
  }

  /**
   * record() in steps: 0 writes the journal's entry but not its mark, 1 the
   * mark, 2 to 4 the counts one by one, 5 everything. Only an injected fault
   * (die() in drain.ts) stops before 5, to die where a real death could.
   */
  stage (us: number, seq: number, steps: number, shard = 0): void {
    let value = us
    let clamped = -1
    if (value > this.#highest || (value < this.#lowest && value !== 0)) {
      // Below the lowest discernible value HDR would lump the sample with the
      // lowest bucket; above the highest it would throw. Clamp both ways, say so.
      value = value > this.#highest ? this.#highest : this.#lowest
      clamped = read(this.#v.counters, C.SAMPLES_CLAMPED) + 1
    }
    const i = this.cumulative.countsArrayIndex(value)
    const j = this.#journal
    j[J.INDEX] = i
    j[J.SLOT] = this.#slot
    j[J.CUMULATIVE] = (this.#cumulativeCounts[i] as number) + 1
    j[J.WINDOW] = (this.#windowCounts[i] as number) + 1
    j[J.SLICE] = (this.#sliceCounts[i] as number) + 1
    j[J.CLAMPED] = clamped
    j[J.SHARD] = shard
    if (steps < 1) return
    j[J.SEQ] = seq
    if (steps < 5) { if (steps > 1) apply(this.#v, steps - 1); return }
    apply(this.#v)
    if (us < this.#batchMin) this.#batchMin = us
    if (us > this.#batchMax) this.#batchMax = us
    this.#batchSum += us
    this.#batchCount++
  }

  /** Brings totals, min, max and sums up to date after record() calls. */
  flush (): void {
    const n = this.#batchCount
    if (n === 0) return
    const min = Math.max(this.#lowest, Math.min(this.#batchMin, this.#highest))
    const max = Math.max(this.#lowest, Math.min(this.#batchMax, this.#highest))
    for (const h of [this.cumulative, this.window, this.#slice]) {
      h.addToTotalCount(n)
      h.updateMinAndMax(min)
      h.updateMinAndMax(max)
    }
    for (const meta of [this.#v.histMeta, this.#sliceMeta]) {
      if (this.#batchMin < (meta[M.MIN] as number)) meta[M.MIN] = this.#batchMin
      if (this.#batchMax > (meta[M.MAX] as number)) meta[M.MAX] = this.#batchMax
      meta[M.SUM] = (meta[M.SUM] as number) + this.#batchSum
      meta[M.COUNT] = (meta[M.COUNT] as number) + n
    }
    this.#batchCount = 0
    this.#batchSum = 0
    this.#batchMin = Number.POSITIVE_INFINITY
    this.#batchMax = 0
  }

  /**
   * Moves to the slice for `second` (drain-time seconds), expiring slices that
   * fell out of the window. Must be called before recording a drain's samples.
   */
  rotate (second: number): void {
    if (second === this.#second) return
    this.flush()
    const metas = this.#v.sliceMeta
    const n = this.slices.length
    for (let i = 0; i < n; i++) {
      const stamp = metas[i]?.[M.STAMP] as number
      if (stamp >= 0 && stamp <= second - n) this.#expire(i)
    }
    const slot = second % n
    const meta = metas[slot] as Float64Array
    if (meta[M.STAMP] !== second) {
      if ((meta[M.STAMP] as number) >= 0) this.#expire(slot)
      meta[M.STAMP] = second
    }
    this.#slice = this.slices[slot] as SharedHistogram
    this.#sliceCounts = this.#v.sliceCounts[slot] as Uint32Array
    this.#sliceMeta = meta
    this.#slot = slot
    this.#second = second
  }

  #expire (slot: number): void {
    const slice = this.slices[slot] as SharedHistogram
    if (slice.totalCount > 0) {
      // Subtracting by hand, clamped at zero: a worker killed between recording
      // into the slice and into the window leaves them one sample apart, and
      // hdr-histogram-js's subtract() would throw on that forever after.
      const win = this.#v.windowCounts
      const counts = this.#v.sliceCounts[slot] as Uint32Array
      for (let i = 0; i < counts.length; i++) {
        const c = counts[i] as number
        if (c !== 0) win[i] = Math.max(0, (win[i] as number) - c)
      }
      this.window.establishInternalTackingValues()
      slice.reset()
    }
    resetMeta(this.#v.sliceMeta[slot] as Float64Array)
  }

  /** Back to nothing recorded. */
  reset (): void {
    this.flush()
    this.cumulative.reset()
    this.window.reset()
    for (const s of this.slices) s.reset()
    for (const m of this.#v.sliceMeta) resetMeta(m)
    this.#second = -1
    resetMeta(this.#v.histMeta)
  }

  /** Lifetime summary with exact min, max and mean. */
  lifetime (percentiles: readonly number[]): Summary {
    return this.summary('lifetime', percentiles)
  }

  /** The whole window (WINDOW_SECONDS) as of the last rotate(). */
  current (percentiles: readonly number[]): Summary {
    return this.summary(this.slices.length - 1, percentiles)
  }

  summary (range: Range, percentiles: readonly number[]): Summary {
    const r = this.range(range)
    return summarize(r.histogram, percentiles, r)
  }

  /**
   * The histogram of `range` with its exact count, min, max and sum. A range
   * of N seconds is the slice being filled and the N before it, as of the
   * last rotate(): the whole window is kept summed, a shorter one is merged
   * here into a scratch histogram that stays valid until the next call.
   */
  range (range: Range): RangeFigures {
    this.flush()
    if (range === 'lifetime') {
      const meta = this.#v.histMeta
      return { histogram: this.cumulative, count: meta[M.COUNT] as number, min: meta[M.MIN] as number, max: meta[M.MAX] as number, sum: meta[M.SUM] as number }
    }
    const whole = range >= this.slices.length - 1
    const figures: RangeFigures = { histogram: this.window, count: 0, min: Number.POSITIVE_INFINITY, max: 0, sum: 0 }
    const scratch = whole ? undefined : this.#scratchHistogram()
    if (scratch !== undefined) {
      scratch.counts.fill(0)
      figures.histogram = scratch.histogram
    }
    const metas = this.#v.sliceMeta
    for (let s = 0; s < metas.length; s++) {
      const m = metas[s] as Float64Array
      const stamp = m[M.STAMP] as number
      if (stamp < 0 || (!whole && stamp < this.#second - range)) continue
      figures.count += m[M.COUNT] as number
      figures.sum += m[M.SUM] as number
      figures.min = Math.min(figures.min, m[M.MIN] as number)
      figures.max = Math.max(figures.max, m[M.MAX] as number)
      if (scratch !== undefined) addCounts(scratch.counts, this.#v.sliceCounts[s] as Uint32Array)
    }
    scratch?.histogram.establishInternalTackingValues()
    return figures
  }

  #scratchHistogram (): { histogram: SharedHistogram, counts: Float64Array } {
    if (this.#scratch === undefined) {
      const counts = new Float64Array(this.#v.windowCounts.length)
      this.#scratch = { histogram: new SharedHistogram(this.#lowest, this.#highest, this.#v.config.digits, counts, true), counts }
    }
    return this.#scratch
  }
}

export interface RangeFigures {
  histogram: JsHistogram
  /** Exact, from the per-slice (or lifetime) figures, µs. */
  count: number
  min: number
  max: number
  sum: number
}

function addCounts (into: Float64Array, from: Uint32Array): void {
  for (let i = 0; i < from.length; i++) {
    const c = from[i] as number
    if (c !== 0) into[i] = (into[i] as number) + c
  }
}
