// The HDR math that the worker, the main thread and the CLI share: values at
// percentiles, summaries, bucket counts, distributions and HdrHistogram's
// compressed base64 encoding. Every value here is integer microseconds; a
// caller that prints milliseconds converts at the edge (inMs).
//
// The client's histograms: 1 µs to 1 hour (a client may wait longer than the
// server's 60 s range, behind a stalled proxy or a long timetable backlog),
// 3 significant digits. Percentiles are read from counts, never averaged.

import type { JsHistogram } from 'hdr-histogram-js'
import { decodeFromCompressedBase64, encodeIntoCompressedBase64, Float64Histogram, Int32Histogram } from './hdr-lib.js'
import { usToMs } from './duration.js'

export const LOWEST_US = 1
export const HIGHEST_US = 3_600_000_000
export const DIGITS = 3

/** A client-side histogram: 32-bit counts, fixed range. */
export function newHistogram (): JsHistogram {
  return new Int32Histogram(LOWEST_US, HIGHEST_US, DIGITS)
}

/** An empty histogram that grows to hold whatever is added to it; 64-bit counts, as a fleet's sum may pass 2^31 in a bucket. */
export function newSum (): JsHistogram {
  const h = new Float64Histogram(LOWEST_US, HIGHEST_US, DIGITS)
  h.autoResize = true
  return h
}

/** The histograms added bucket by bucket (exact), into a new one. */
export function sumOf (histograms: Iterable<JsHistogram>): JsHistogram {
  const sum = newSum()
  for (const h of histograms) sum.add(h)
  return sum
}

/** HdrHistogram's V2 compressed encoding in base64 ("HISTFAAA…"), values in integer µs. */
export function encode (h: JsHistogram): string {
  return encodeIntoCompressedBase64(h)
}

/** Decodes a compressed base64 histogram; throws with `where` and a reason a person can act on. */
export function decode (text: unknown, where: string): JsHistogram {
  if (typeof text !== 'string' || text.length === 0) throw new Error(`${where}: no encoded histogram`)
  try {
    return decodeFromCompressedBase64(text, 64, false) as JsHistogram
  } catch (err) {
    throw new Error(`${where}: not a compressed base64 HdrHistogram (${(err as Error).message})`)
  }
}

/**
 * Values at several percentiles in one walk of the counts (HDR's own rule:
 * the smallest value with at least ceil(p% of total) samples at or below it,
 * reported as the highest value equivalent to it within the precision).
 * Keys are the percentiles as written: "50", "99.9".
 */
export function valuesAt (h: JsHistogram, percentiles: readonly number[]): Record<string, number | null> {
  const out: Record<string, number | null> = {}
  const total = h.totalCount
  const order = [...percentiles].sort((a, b) => a - b)
  if (total === 0) {
    for (const p of order) out[String(p)] = null
    return out
  }
  let i = 0
  let seen = 0
  const len = h.countsArrayLength
  for (const p of order) {
    const want = Math.max(Math.ceil(Number(((Math.min(p, 100) / 100) * total).toPrecision(12))), 1)
    while (seen < want && i < len) seen += h.getCountAtIndex(i++)
    const value = h.valueFromIndex(Math.max(i - 1, 0))
    out[String(p)] = p === 0 ? h.lowestEquivalentValue(value) : h.highestEquivalentValue(value)
  }
  return out
}

/** Count, sum, min and max kept exactly beside a histogram (HDR's own are within its precision). */
export interface Exact {
  /** Defaults to the histogram's total count. */
  count?: number
  sum: number
  min: number
  max: number
}

/** A histogram's figures, µs; null where there is no sample. */
export interface Summary {
  count: number
  min: number | null
  max: number | null
  mean: number | null
  /** Value at each requested percentile, keyed by the percentile as written ("50", "99.9"). */
  percentiles: Record<string, number | null>
}

/**
 * The summary of a histogram. With `exact`, count, min, max and mean are the
 * exact figures and no percentile is above the exact max (HDR reports the top
 * of a value's bucket); without it they are HDR's, within 0.1 %.
 */
export function summarize (h: JsHistogram, percentiles: readonly number[], exact?: Exact): Summary {
  const values = valuesAt(h, percentiles)
  const count = exact?.count ?? h.totalCount
  if (count === 0) return { count, min: null, max: null, mean: null, percentiles: values }
  if (exact !== undefined) for (const k in values) if (values[k] != null) values[k] = Math.min(values[k], exact.max)
  return {
    count,
    min: exact?.min ?? h.minNonZeroValue,
    max: exact?.max ?? h.maxValue,
    mean: exact === undefined ? h.mean : exact.sum / count,
    percentiles: values
  }
}

/** A summary in milliseconds with µs resolution, as the result documents print it; `stdev` when asked for. */
export interface MsSummary extends Summary {
  stdev: number | null
}

const msOrNull = (us: number | null): number | null => (us === null ? null : usToMs(us))
const ms4 = (us: number): number => Number((us / 1000).toFixed(4))

export function inMs (s: Summary, stdevUs: number | null = null): MsSummary {
  const percentiles: Record<string, number | null> = {}
  for (const [k, v] of Object.entries(s.percentiles)) percentiles[k] = msOrNull(v)
  return {
    count: s.count,
    min: msOrNull(s.min),
    max: msOrNull(s.max),
    mean: s.mean === null ? null : ms4(s.mean),
    stdev: s.count === 0 || stdevUs === null ? null : ms4(stdevUs),
    percentiles
  }
}

/**
 * Samples at or below each boundary (integer µs, ascending), from the HDR
 * counts, in one walk.
 *
 * HDR gives every value below its sub-bucket count (2048 µs with 1 µs and 3
 * digits) a bucket of its own, so there the counts are exact to the
 * microsecond. Above it a bucket holds neighbouring values (a range at most
 * 1/1024 of the value wide with 3 digits). When a boundary falls inside such
 * a bucket the whole bucket counts as at or below it: a sample exactly on a
 * boundary is always in that boundary's `le` bucket, and the count is exactly
 * the number of samples at or below highestEquivalentValue(boundary), which
 * is less than 0.1 % above the boundary. It rounds up, never down.
 */
export function cumulativeAt (h: JsHistogram, boundsUs: readonly number[]): number[] {
  const out: number[] = []
  const len = h.countsArrayLength
  let i = 0
  let seen = 0
  for (const b of boundsUs) {
    const last = Math.min(h.countsArrayIndex(Math.min(b, h.highestTrackableValue)), len - 1)
    while (i <= last) seen += h.getCountAtIndex(i++)
    out.push(seen)
  }
  return out
}

/** One HDR bucket with samples: its value range (µs, inclusive), count, and the share of samples at or below it. */
export interface DistributionRow {
  from_us: number
  to_us: number
  count: number
  /** Cumulative, 0–100. */
  percentile: number
}

/** Every non-empty bucket in value order, like Fortio's histogram `Data` (Start, End, Count, Percent). */
export function distribution (h: JsHistogram): DistributionRow[] {
  const rows: DistributionRow[] = []
  const total = h.totalCount
  if (total === 0) return rows
  const len = h.countsArrayLength
  let seen = 0
  for (let i = 0; i < len && seen < total; i++) {
    const count = h.getCountAtIndex(i)
    if (count === 0) continue
    seen += count
    const value = h.valueFromIndex(i)
    rows.push({
      from_us: h.lowestEquivalentValue(value),
      to_us: h.highestEquivalentValue(value),
      count,
      percentile: Number(((seen / total) * 100).toPrecision(12))
    })
  }
  return rows
}

/** Counts between edges (µs, ascending): a distribution to draw; samples outside go to the first or last bin. */
export function binned (h: JsHistogram, edges: readonly number[]): number[] {
  const out = new Array<number>(Math.max(edges.length - 1, 0)).fill(0)
  if (out.length === 0) return out
  const len = h.countsArrayLength
  const last = out.length - 1
  let e = 0
  for (let i = 0; i < len; i++) {
    const c = h.getCountAtIndex(i)
    if (c === 0) continue
    const v = h.medianEquivalentValue(h.valueFromIndex(i))
    while (e < last && v >= (edges[e + 1] as number)) e++
    out[e] = (out[e] as number) + c
  }
  return out
}

/** Values (µs) at many percentiles in one walk: the points of a percentile curve. */
export function curve (h: JsHistogram, percentiles: readonly number[]): Array<number | null> {
  const values = valuesAt(h, percentiles)
  return percentiles.map((p) => values[String(p)] ?? null)
}

/**
 * The standard .hgrm percentile distribution, as HdrHistogram's
 * outputPercentileDistribution prints it, with values in milliseconds (the
 * unit HdrHistogram's plotter labels its axis with): µs scaled by 1000.
 */
export function hgrm (h: JsHistogram): string {
  return h.outputPercentileDistribution(5, 1000)
}

/** summarize() in milliseconds, with the standard deviation: the figures of a result document. */
export function summarizeMs (h: JsHistogram, percentiles: readonly number[], exact?: Exact): MsSummary {
  const s = summarize(h, percentiles, exact)
  return inMs(s, s.count === 0 ? null : h.stdDeviation)
}
