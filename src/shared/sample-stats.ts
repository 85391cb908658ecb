// Order statistics of a small list of plain numbers (the rounds of a
// comparison, a benchmark's repetitions). Histograms have their own math in
// hdr.ts; these sort a copy and never change their input.

/** The median: the middle value, or the mean of the two middle ones; NaN for an empty list. */
export function median (values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] as number : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

/** The nearest-rank quantile (q in [0, 1]): the smallest value with at least q of the list at or below it; NaN when empty. */
export function quantile (values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number
}
