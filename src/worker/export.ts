// What the histograms look like from outside: Prometheus `le` bucket counts,
// a per-bucket distribution, HdrHistogram's compressed base64 encoding and
// its .hgrm percentile text. Runs in the worker, off the hot path, at scrape
// or request time.

import { encodeIntoCompressedBase64, type JsHistogram } from 'hdr-histogram-js'

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

/** HdrHistogram's V2 compressed encoding in base64 ("HISTFAAA…"), values in integer µs. */
export function encode (h: JsHistogram): string {
  return encodeIntoCompressedBase64(h)
}

/**
 * The standard .hgrm percentile distribution, as HdrHistogram's
 * outputPercentileDistribution prints it, with values in milliseconds (the
 * unit HdrHistogram's plotter labels its axis with): µs scaled by 1000.
 */
export function hgrm (h: JsHistogram): string {
  return h.outputPercentileDistribution(5, 1000)
}
