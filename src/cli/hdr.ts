// HDR histograms on the client side: integer microseconds, 3 significant
// digits, 1 µs to 1 hour (a client may wait longer than the server's 60 s
// range, behind a stalled proxy or a long timetable backlog). Encoded in the
// standard compressed base64 format, so runs, servers and other HdrHistogram
// libraries can be added exactly. Percentiles are computed from counts, never
// averaged.

import { decodeFromCompressedBase64, encodeIntoCompressedBase64, Float64Histogram, Int32Histogram, type JsHistogram } from 'hdr-histogram-js'
import { usToMs } from '../shared/duration.js'
import { valuesAt } from '../worker/histograms.js'

export const LOWEST_US = 1
export const HIGHEST_US = 3_600_000_000
export const DIGITS = 3

export function newHistogram (): JsHistogram {
  return new Int32Histogram(LOWEST_US, HIGHEST_US, DIGITS)
}

/** An empty histogram that grows to hold whatever is added to it; 64-bit counts, as a fleet's sum may pass 2^31 in a bucket. */
export function newSum (): JsHistogram {
  const h = new Float64Histogram(LOWEST_US, HIGHEST_US, DIGITS)
  h.autoResize = true
  return h
}

export function encode (h: JsHistogram): string {
  return encodeIntoCompressedBase64(h)
}

/** Decodes a compressed base64 histogram; throws with a reason a person can act on. */
export function decode (text: string, where: string): JsHistogram {
  if (typeof text !== 'string' || text.length === 0) throw new Error(`${where}: no encoded histogram`)
  let h
  try {
    h = decodeFromCompressedBase64(text, 64, false)
  } catch (err) {
    throw new Error(`${where}: not a compressed base64 HdrHistogram (${(err as Error).message})`)
  }
  return h as JsHistogram
}

/** Latency figures in ms with µs resolution; null where there is no sample. */
export interface Summary {
  count: number
  min: number | null
  max: number | null
  mean: number | null
  stdev: number | null
  /** Keyed by the percentile as written: "50", "99.9". */
  percentiles: Record<string, number | null>
}

/**
 * Summary of a histogram. `exact` gives sum, min and max tracked beside the
 * histogram (the load generator keeps them); without it min, max and mean
 * are HDR's (within 0.1 %).
 */
export function summarize (h: JsHistogram, percentiles: readonly number[], exact?: { sum: number, min: number, max: number }): Summary {
  const count = h.totalCount
  const values = valuesAt(h, percentiles)
  const out: Record<string, number | null> = {}
  for (const p of percentiles) {
    const v = values[String(p)] ?? null
    out[String(p)] = v === null ? null : usToMs(exact === undefined ? v : Math.min(v, exact.max))
  }
  if (count === 0) return { count, min: null, max: null, mean: null, stdev: null, percentiles: out }
  return {
    count,
    min: usToMs(exact?.min ?? h.minNonZeroValue),
    max: usToMs(exact?.max ?? h.maxValue),
    mean: Number(((exact === undefined ? h.mean : exact.sum / count) / 1000).toFixed(4)),
    stdev: Number((h.stdDeviation / 1000).toFixed(4)),
    percentiles: out
  }
}

/** Values (µs) at many percentiles in one walk: the points of a percentile curve. */
export function curve (h: JsHistogram, percentiles: readonly number[]): Array<number | null> {
  const values = valuesAt(h, percentiles)
  return percentiles.map((p) => values[String(p)] ?? null)
}

/** Counts between log-spaced edges (µs): a distribution to draw. */
export function distribution (h: JsHistogram, edges: readonly number[]): number[] {
  const out = new Array<number>(Math.max(edges.length - 1, 0)).fill(0)
  const len = h.countsArrayLength
  let e = 0
  for (let i = 0; i < len; i++) {
    const c = h.getCountAtIndex(i)
    if (c === 0) continue
    const v = h.medianEquivalentValue(h.valueFromIndex(i))
    while (e < out.length && v >= (edges[e + 1] as number)) e++
    if (e >= out.length) { out[out.length - 1] = (out[out.length - 1] ?? 0) + c; continue }
    if (v >= (edges[0] as number)) out[e] = (out[e] as number) + c
    else out[0] = (out[0] as number) + c
  }
  return out
}
