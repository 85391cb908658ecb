// The query of /stats and /stats/histogram (slow path):
//
//   percentiles=50,90,99.99   extra percentiles for /stats, each in (0, 100], at most 32
//   window=lifetime|<seconds> the range they cover: everything since start or
//                             reset (the default), or the last 1..WINDOW_SECONDS seconds;
//                             a window without percentiles asks for the usual five
//   format=json|hgrm          /stats/histogram only
//
// Unknown parameters are ignored, as on `GET /`; one of these given twice is
// refused, as on `GET /`.

import { ApiError } from '../shared/errors.js'
import { parsePercentileList } from '../shared/percentiles.js'
import type { Range } from '../shared/protocol.js'

/** The percentiles /stats always reports, and those of a window asked for alone. */
export const STATS_PERCENTILES = [50, 90, 95, 99, 99.9]

export interface StatsQuery {
  /** Undefined when neither percentiles nor window was asked for. */
  percentiles: number[] | undefined
  range: Range
  format: 'json' | 'hgrm'
}

/** `p50`, `p99_99`: the key of a percentile in the `percentiles` object. */
export function percentileKey (p: number): string {
  return 'p' + String(p).replace('.', '_')
}

export function parsePercentiles (text: string): number[] | ApiError {
  const list = parsePercentileList(text)
  return typeof list === 'string' ? new ApiError('INVALID_PERCENTILES', list) : list
}

export function parseWindow (text: string, windowSeconds: number): Range | ApiError {
  if (text === 'lifetime') return 'lifetime'
  const n = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN
  if (n >= 1 && n <= windowSeconds) return n
  return new ApiError('INVALID_WINDOW', `${JSON.stringify(text.slice(0, 64))} is not a window: use lifetime or whole seconds from 1 to WINDOW_SECONDS (${windowSeconds})`)
}

/** Parses the query part of `url` (after `?`). */
export function parseStatsQuery (url: string, windowSeconds: number): StatsQuery | ApiError {
  const q = url.indexOf('?')
  const query: StatsQuery = { percentiles: undefined, range: 'lifetime', format: 'json' }
  if (q < 0) return query
  const params = new URLSearchParams(url.slice(q + 1))
  for (const key of ['percentiles', 'window', 'format']) {
    if (params.getAll(key).length > 1) return new ApiError('INVALID_QUERY', `${key} is given more than once`)
  }
  const percentiles = params.get('percentiles')
  const window = params.get('window')
  const format = params.get('format')
  if (percentiles !== null) {
    const ps = parsePercentiles(percentiles)
    if (ps instanceof ApiError) return ps
    query.percentiles = ps
  }
  if (window !== null) {
    const range = parseWindow(window, windowSeconds)
    if (range instanceof ApiError) return range
    query.range = range
    // A window alone asks for the usual percentiles over it.
    query.percentiles ??= STATS_PERCENTILES
  }
  if (format !== null) {
    if (format !== 'json' && format !== 'hgrm') return new ApiError('INVALID_FORMAT', `${JSON.stringify(format.slice(0, 64))} is not a format: use json or hgrm`)
    query.format = format
  }
  return query
}
