// Is a difference between two targets more than the round-to-round noise?
//
// Each target ran several rounds, so a figure (say p99 end to end) has one
// value per round on each side. The test is Mann–Whitney's (Wilcoxon's rank
// sum): rank all the rounds together and ask how often a random split of
// them into the two sides puts a rank sum as far from its mean as the one
// observed. The p-value is exact (every split counted, ties given mid-ranks)
// up to MAX_EXACT (60) rounds in all, from the normal approximation beyond. The
// difference is significant when p ≤ alpha (default 0.05): with identical
// targets that is claimed at most 5 % of the time, however many rounds run,
// and its power grows with the rounds instead of shrinking.
//
// The interval is Hodges–Lehmann's for the shift B − A: the pairwise
// differences of the rounds, cut where the exact rank-sum distribution puts
// alpha / 2 on each side. Rounds must be interleaved (compare runs them in a
// balanced order) for either to mean anything: the test assumes the rounds
// of both sides are exchangeable when the targets are the same.
//
// With few rounds no split is rare enough: 3 rounds a side have 20 splits,
// so p is never below 0.1. minRounds() says how many the alpha needs (4 a
// side for 5 %); with fewer there is no verdict, and it says so.

import { median } from '../shared/sample-stats.js'

export const DEFAULT_ALPHA = 0.05
/** Rounds in all up to which the rank-sum distribution is counted exactly. */
const MAX_EXACT = 60

export interface Spread {
  n: number
  median: number
  min: number
  max: number
}

export function spreadOf (values: readonly number[]): Spread | null {
  if (values.length === 0) return null
  return { n: values.length, median: median(values), min: Math.min(...values), max: Math.max(...values) }
}

export interface Verdict {
  /** median(B) − median(A). */
  diff: number
  /** diff / median(A), or null when median(A) is 0. */
  relative: number | null
  /** Two-sided p-value of the rank-sum test; null without a verdict. */
  p: number | null
  /** Hodges–Lehmann interval for the shift B − A at 1 − alpha; null without a verdict. */
  low: number | null
  high: number | null
  alpha: number
  /** null: too few rounds to reach alpha. */
  significant: boolean | null
  rounds: [number, number]
}

/** log C(n, k). */
function logChoose (n: number, k: number): number {
  let s = 0
  for (let i = 1; i <= k; i++) s += Math.log((n - k + i) / i)
  return s
}

/** The fewest rounds a side whose exact test can reach `alpha` (the smallest two-sided p is 2 / C(2n, n)). */
export function minRounds (alpha = DEFAULT_ALPHA): number {
  let n = 1
  while (Math.log(2) - logChoose(2 * n, n) > Math.log(alpha)) n++
  return n
}

/** Mid-ranks (1-based) of the pooled values, doubled so that they are integers. */
function doubledRanks (pooled: readonly number[]): number[] {
  const order = pooled.map((v, i) => [v, i] as const).sort((x, y) => x[0] - y[0])
  const ranks = new Array<number>(pooled.length)
  for (let i = 0; i < order.length;) {
    let j = i
    while (j + 1 < order.length && (order[j + 1] as readonly [number, number])[0] === (order[i] as readonly [number, number])[0]) j++
    // Positions i..j (0-based) share the mean rank (i + j) / 2 + 1; doubled: i + j + 2.
    for (let k = i; k <= j; k++) ranks[(order[k] as readonly [number, number])[1]] = i + j + 2
    i = j + 1
  }
  return ranks
}

/** ways[s]: how many k-subsets of `items` (non-negative integers) sum to s. */
function subsetSums (items: readonly number[], k: number): Float64Array {
  const max = items.reduce((a, b) => a + b, 0)
  const ways = Array.from({ length: k + 1 }, () => new Float64Array(max + 1))
  ;(ways[0] as Float64Array)[0] = 1
  let reach = 0
  for (const x of items) {
    reach += x
    // Counts of larger subsets first, so that each item is taken at most once.
    for (let c = k; c >= 1; c--) {
      const from = ways[c - 1] as Float64Array
      const to = ways[c] as Float64Array
      for (let s = reach; s >= x; s--) to[s] = (to[s] as number) + (from[s - x] as number)
    }
  }
  return ways[k] as Float64Array
}

/** The rank-sum distribution without ties, doubled ranks 2, 4, …, 2n, for `k` of `n`: the same for every comparison of that size. */
const untied = new Map<string, Float64Array>()
function untiedSums (n: number, k: number): Float64Array {
  const key = `${n}:${k}`
  let ways = untied.get(key)
  if (ways === undefined) {
    ways = subsetSums(Array.from({ length: n }, (_, i) => 2 * (i + 1)), k)
    untied.set(key, ways)
  }
  return ways
}

/** Two-sided p-value of the rank sum of `b` among the pooled rounds. */
function rankSumP (a: readonly number[], b: readonly number[]): number {
  const pooled = [...a, ...b]
  const ranks = doubledRanks(pooled)
  const n = pooled.length
  const observed = ranks.slice(a.length).reduce((s, r) => s + r, 0)
  const mean = (b.length * (n + 1)) // doubled: 2 · b(n + 1) / 2
  const distance = Math.abs(observed - mean)
  if (n <= MAX_EXACT) {
    const tied = new Set(ranks).size < ranks.length
    const ways = tied ? subsetSums(ranks, b.length) : untiedSums(n, b.length)
    let total = 0
    let extreme = 0
    for (let s = 0; s < ways.length; s++) {
      const w = ways[s] as number
      if (w === 0) continue
      total += w
      if (Math.abs(s - mean) >= distance - 1e-9) extreme += w
    }
    return Math.min(1, extreme / total)
  }
  // Normal approximation with the tie correction, on the undoubled scale.
  const counts = new Map<number, number>()
  for (const r of ranks) counts.set(r, (counts.get(r) ?? 0) + 1)
  let ties = 0
  for (const t of counts.values()) ties += t * t * t - t
  const variance = (a.length * b.length / 12) * ((n + 1) - ties / (n * (n - 1)))
  if (variance <= 0) return 1
  const z = Math.max(0, distance / 2 - 0.5) / Math.sqrt(variance)
  return Math.min(1, 2 * (1 - normalCdf(z)))
}

/** Φ(z), Abramowitz and Stegun 26.2.17 (error below 7.5e-8). */
function normalCdf (z: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(z))
  const d = 0.3989422804014327 * Math.exp(-z * z / 2)
  const tail = d * t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))))
  return z >= 0 ? 1 - tail : tail
}

/** The z with Φ(z) = q, by bisection. */
function normalQuantile (q: number): number {
  let lo = -10
  let hi = 10
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2
    if (normalCdf(mid) < q) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}

/**
 * k for the Hodges–Lehmann interval [D(k), D(mn + 1 − k)] of the sorted
 * pairwise differences: the largest k with P(U ≤ k − 1) ≤ alpha / 2 under
 * no difference; 0 when even k = 1 is too wide a tail.
 */
function intervalRank (m: number, n: number, alpha: number): number {
  if (m + n <= MAX_EXACT) {
    const ways = untiedSums(m + n, n)
    let total = 0
    for (const w of ways) total += w
    // Doubled ranks: U = (W₂ − n(n + 1)) / 2, so U = u sits at W₂ = 2u + n(n + 1).
    const base = n * (n + 1)
    let below = 0
    let k = 0
    for (let u = 0; u <= m * n; u++) {
      below += ways[2 * u + base] ?? 0
      if (below / total > alpha / 2) break
      k = u + 1
    }
    return k
  }
  const mean = m * n / 2
  const sd = Math.sqrt(m * n * (m + n + 1) / 12)
  return Math.max(0, Math.floor(mean - normalQuantile(1 - alpha / 2) * sd))
}

/** The verdict on B against A from their per-round figures. */
export function judge (a: readonly number[], b: readonly number[], alpha = DEFAULT_ALPHA): Verdict {
  const ma = median(a)
  const diff = median(b) - ma
  const relative = ma === 0 ? null : diff / ma
  const base: Verdict = { diff, relative, p: null, low: null, high: null, alpha, significant: null, rounds: [a.length, b.length] }
  if (a.length === 0 || b.length === 0) return base
  const k = intervalRank(a.length, b.length, alpha)
  if (k < 1) return base
  const diffs: number[] = []
  for (const x of a) for (const y of b) diffs.push(y - x)
  diffs.sort((x, y) => x - y)
  const p = rankSumP(a, b)
  return { ...base, p, low: diffs[k - 1] as number, high: diffs[diffs.length - k] as number, significant: p <= alpha }
}

export interface Wording {
  unit: string
  digits: number
  /** Words for a larger and a smaller value: ['slower', 'faster'], ['higher', 'lower'], ['more', 'less']. */
  words: [string, string]
  /**
   * One process measured per side: the figure describes that process, and
   * its rounds cannot see how another process of the same kind would differ.
   */
  perProcess?: boolean
}

/** `slower by 2.013 ms (+95.2 %; 95 % CI 1.9 to 2.1 ms, p = 0.008)`, `no significant difference (…)`, or why there is no verdict. */
export function verdictText (v: Verdict, w: Wording): string {
  const amount = (x: number): string => `${x.toLocaleString('en-US', { minimumFractionDigits: w.digits, maximumFractionDigits: w.digits })}${w.unit === '' ? '' : ' ' + w.unit}`
  const level = `${Number(((1 - v.alpha) * 100).toFixed(2))} %`
  if (v.significant === null || v.p === null || v.low === null || v.high === null) {
    const fewest = Math.min(...v.rounds)
    return `no verdict: ${fewest} round${fewest === 1 ? '' : 's'} a side cannot show a difference at the ${level} level (need ${minRounds(v.alpha)})`
  }
  const interval = `${level} CI ${amount(v.low).replace(/ [^ ]+$/, '')} to ${amount(v.high)}, p = ${v.p < 0.001 ? '< 0.001' : v.p.toFixed(3)}`
  if (w.perProcess === true) {
    return `per process: ${v.diff > 0 ? '+' : ''}${amount(v.diff)} (one process a side: not a difference between modes; ${interval})`
  }
  if (!v.significant) return `no significant difference (${interval})`
  const word = v.diff > 0 ? w.words[0] : v.diff < 0 ? w.words[1] : (v.low > 0 ? w.words[0] : w.words[1])
  const rel = v.relative === null || v.relative === 0
    ? ''
    : Math.abs(v.relative) < 10 ? `${v.relative > 0 ? '+' : ''}${(v.relative * 100).toFixed(1)} %; ` : `×${(1 + v.relative).toFixed(0)}; `
  return `${word} by ${amount(Math.abs(v.diff))} (${rel}${interval})`
}
