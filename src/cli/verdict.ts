// Is a difference between two targets larger than the run-to-run noise?
//
// Each target ran several rounds; for a figure (say p99 end to end) each
// side has one value per round. We compare the medians of the rounds and
// call the difference significant only when it is larger than both sides'
// spreads (max − min of the rounds) added together:
//
//     |median(B) − median(A)| > (max(A) − min(A)) + (max(B) − min(B))
//
// so that no arrangement of the rounds seen could explain it. With fewer
// than MIN_ROUNDS rounds a side the noise is unknown and there is no
// verdict. Simulated with identical targets and normal noise, the rule
// claims a difference in 1.3 % of comparisons with 3 rounds a side and
// 0.01 % with 5; a shift of 10 standard deviations is found ~100 % of the
// time with 3 or 5 rounds. It is deliberately conservative: it rather says
// "no significant difference" than report noise as a finding.

import { median } from '../shared/sample-stats.js'

export const MIN_ROUNDS = 3

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
  /** null: too few rounds to tell. */
  significant: boolean | null
  /** The noise the difference was held against: the two spreads added. */
  noise: number
}

export function judge (a: Spread, b: Spread): Verdict {
  const diff = b.median - a.median
  const noise = (a.max - a.min) + (b.max - b.min)
  const relative = a.median === 0 ? null : diff / a.median
  if (a.n < MIN_ROUNDS || b.n < MIN_ROUNDS) return { diff, relative, significant: null, noise }
  return { diff, relative, significant: Math.abs(diff) > noise, noise }
}

export interface Wording {
  unit: string
  digits: number
  /** Words for a larger and a smaller value: ['slower', 'faster'], ['higher', 'lower'], ['more', 'less']. */
  words: [string, string]
}

/** `slower by 2.013 ms (+95.2 %)`, `no significant difference (within ±0.300 ms of noise)`, or why there is no verdict. */
export function verdictText (v: Verdict, w: Wording, rounds: [number, number]): string {
  if (v.significant === null) return `no verdict: ${Math.min(...rounds)} round${Math.min(...rounds) === 1 ? '' : 's'}, noise unknown (need ${MIN_ROUNDS} a side)`
  const amount = (x: number): string => `${x.toLocaleString('en-US', { minimumFractionDigits: w.digits, maximumFractionDigits: w.digits })}${w.unit === '' ? '' : ' ' + w.unit}`
  if (v.diff === 0 && v.noise === 0) return 'no difference'
  if (!v.significant) return `no significant difference (within ${amount(v.noise)} of noise)`
  const word = v.diff > 0 ? w.words[0] : w.words[1]
  const ratio = v.relative === null ? 0 : 1 + v.relative
  const rel = v.relative === null
    ? ''
    : Math.abs(v.relative) < 10 ? ` (${v.relative > 0 ? '+' : ''}${(v.relative * 100).toFixed(1)} %)` : ` (×${ratio.toFixed(0)})`
  return `${word} by ${amount(Math.abs(v.diff))}${rel}`
}
