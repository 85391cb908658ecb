// Durations as people type them: `250us`, `250µs`, `5ms`, `1.5s`, and a bare
// number in a unit the caller names (ms for the server's `delay`).
// Returns whole microseconds, or undefined for anything that is not a finite,
// non-negative duration (so `-1`, `1e309`, `NaN`, `5 ms`, `0x10` are refused).
// A well-formed duration beyond 2^53 µs (285 years) has no exact µs count and
// comes back as Infinity, so that every caller's maximum refuses it as too large.

const DURATION = /^(\d{1,15}(?:\.\d{1,9})?|\.\d{1,9})(us|µs|ms|s|m)?$/
const UNIT_US: Record<string, number> = { us: 1, µs: 1, ms: 1000, s: 1_000_000, m: 60_000_000 }

export function parseDurationUs (text: string, bareUnit: 'us' | 'ms' | 's' = 'ms'): number | undefined {
  const m = DURATION.exec(text)
  if (m === null) return undefined
  const us = Math.round(Number(m[1]) * (UNIT_US[m[2] ?? bareUnit] ?? 1))
  return Number.isSafeInteger(us) ? us : Number.POSITIVE_INFINITY
}

/** Microseconds as milliseconds with microsecond resolution (3 decimals). */
export function usToMs (us: number): number {
  return Math.round(us) / 1000
}

/**
 * A whole number of µs as the shortest exact text that parseDurationUs reads
 * back: 250us, 1.5ms, 2.25s, 5m.
 */
export function formatDuration (us: number): string {
  if (!Number.isSafeInteger(us)) return 'more than 2^53us'
  if (us >= 60_000_000 && us % 60_000_000 === 0) return `${us / 60_000_000}m`
  if (us >= 1_000_000 && us % 1000 === 0) return `${us / 1_000_000}s`
  if (us >= 1000) return `${us / 1000}ms`
  return `${us}us`
}
