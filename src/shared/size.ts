// Byte sizes as people write them: `1024`, `1k`, `64KiB`, `1.5M`. Every unit
// is a power of 1024 (k, KB and KiB alike are 1024 bytes; M, MB and MiB
// 1048576; G, GB and GiB 2^30), case-insensitive: what nginx and curl mean by
// `1k`, and what a "1 KB payload" of a mesh benchmark is. Fortio's `size=`
// takes bare bytes only, which read the same here. Shared by the settings
// (MAX_SIZE) and the query of `/` (`size=`).

const UNIT: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 2 ** 20, mb: 2 ** 20, mib: 2 ** 20, g: 2 ** 30, gb: 2 ** 30, gib: 2 ** 30 }

/**
 * At most 20 digits and 3 decimals. Below 2^53 bytes the result is exact;
 * above, it may be rounded, but it is then far beyond any MAX_SIZE, so a
 * huge size is refused as too large, never misread as a small one.
 */
const SIZE = /^(\d{1,20})(?:\.(\d{1,3}))?([a-z]{0,3})$/i

/**
 * Bytes of `text`, or undefined when it is not a size or not a whole number
 * of bytes (`0.3k` is 307.2). No sign, no exponent, no spaces.
 */
export function parseSize (text: string): number | undefined {
  const m = SIZE.exec(text)
  if (m === null) return undefined
  const unit = UNIT[(m[3] as string).toLowerCase()]
  if (unit === undefined) return undefined
  const fraction = m[2] ?? ''
  // Whole bytes from integers only: digits × unit / 10^decimals, exact below 2^53.
  const scaled = Number((m[1] as string) + fraction) * unit
  const divisor = 10 ** fraction.length
  return scaled % divisor === 0 ? scaled / divisor : undefined
}

/** `1 MiB`, `64 KiB`, `1000 bytes`: the largest unit that divides `bytes`. */
export function formatSize (bytes: number): string {
  for (const [unit, n] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 1024]] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n} ${unit}`
  }
  return `${bytes} bytes`
}
