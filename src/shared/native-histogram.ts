// Prometheus native histograms from the HDR counts. A native histogram of
// schema s has buckets whose boundaries are powers of 2^(2^-s): bucket k
// holds the values v with 2^((k-1)/2^s) < v ≤ 2^(k/2^s), in seconds. Each
// HDR bucket with samples goes whole into the one native bucket that holds
// its value (HDR's own value for the bucket, its lowest equivalent value, the
// same rule as the classic `le` buckets), so the native counts add up to the
// HDR total exactly. A sample of t µs sits at most 1/2^digits of t above
// that value (0.1 % at 3 digits), so it lands one native bucket low only
// when a native boundary lies within 0.1 % below it; below 2^digits·2 µs
// (2,048 µs at 3 digits) HDR buckets are 1 µs wide and the mapping is exact.
// See docs/stats.md, "Native histogram".

import type { JsHistogram } from 'hdr-histogram-js'

/** Finest schema Prometheus accepts (2.40 and later): 256 buckets per power of two, each 0.27 % wide. */
export const MAX_SCHEMA = 8
export const MIN_SCHEMA = 0
/**
 * The zero bucket holds samples recorded as 0 µs (shorter than HDR's lowest
 * discernible value). client_golang's default threshold, 2^-128; a threshold
 * above zero also marks an empty histogram as native.
 */
export const ZERO_THRESHOLD = 2 ** -128

export interface Span {
  /** Gap to the previous span's end, or the first bucket's index. */
  offset: number
  length: number
}

export interface NativeBuckets {
  schema: number
  zeroCount: number
  /** Runs of bucket indices; a gap of at most 2 empty buckets stays inside a span (2 zero counts cost less than a new span). */
  spans: Span[]
  /** Count of each bucket the spans cover, in index order (absolute, not deltas). */
  counts: number[]
}

/** The upper boundary of native bucket `index`, in seconds. */
export function upperBound (index: number, schema: number): number {
  return 2 ** (index / 2 ** schema)
}

/** The index of the native bucket that holds `seconds` (> 0). */
export function bucketIndex (seconds: number, schema: number): number {
  let k = Math.ceil(Math.log2(seconds) * 2 ** schema)
  // Math.log2 may be one ulp off near a boundary: settle on the boundaries themselves.
  while (seconds > upperBound(k, schema)) k++
  while (seconds <= upperBound(k - 1, schema)) k--
  return k
}

/** The HDR counts (values in µs) as a native histogram of `schema`. */
export function nativeBuckets (h: JsHistogram, schema: number): NativeBuckets {
  const out: NativeBuckets = { schema, zeroCount: 0, spans: [], counts: [] }
  const total = h.totalCount
  const len = h.countsArrayLength
  let seen = 0
  let last = 0
  let current: Span | undefined
  for (let i = 0; i < len && seen < total; i++) {
    const count = h.getCountAtIndex(i)
    if (count === 0) continue
    seen += count
    const us = h.valueFromIndex(i)
    if (us <= 0) {
      out.zeroCount += count
      continue
    }
    const k = bucketIndex(us / 1e6, schema)
    if (current !== undefined && k === last) {
      out.counts[out.counts.length - 1] = (out.counts.at(-1) as number) + count
      continue
    }
    const gap = current === undefined ? 0 : k - last - 1
    if (current !== undefined && gap <= 2) {
      for (let g = 0; g < gap; g++) out.counts.push(0)
      current.length += gap + 1
    } else {
      current = { offset: current === undefined ? k : gap, length: 1 }
      out.spans.push(current)
    }
    out.counts.push(count)
    last = k
  }
  return out
}

/** Absolute counts as the deltas the exposition carries (each against the bucket before, the first against 0). */
export function deltas (counts: readonly number[]): number[] {
  let before = 0
  return counts.map((c) => {
    const d = c - before
    before = c
    return d
  })
}
