// One rule for a list of percentiles, on the server (`/stats?percentiles=`)
// and in the CLI (`-p`): numbers above 0 and at most 100 with at most 6
// decimals, comma-separated, at most MAX_PERCENTILES; duplicates fold, the
// order stays as given (/stats keeps it; the CLI sorts its columns).

export const MAX_PERCENTILES = 32

const PERCENTILE = /^\d{1,3}(\.\d{1,6})?$/

/** `99,50,90` → [99, 50, 90], or the reason the text is not such a list. */
export function parsePercentileList (text: string): number[] | string {
  const parts = text.split(',', MAX_PERCENTILES + 1)
  if (parts.length > MAX_PERCENTILES) return `at most ${MAX_PERCENTILES} percentiles at once`
  const out = new Set<number>()
  for (const part of parts) {
    const t = part.trim()
    const p = PERCENTILE.test(t) ? Number(t) : Number.NaN
    if (!(p > 0 && p <= 100)) {
      return `${JSON.stringify(t.slice(0, 64))} is not a percentile: use numbers above 0 and at most 100, with at most 6 decimals, like 50,90,99.99`
    }
    out.add(p)
  }
  return [...out]
}
