// The cost figures for people: the lines `podmeter load` prints under its
// latency table, and the rows `podmeter compare` adds to its table (the
// per-1,000 req/s figure of each component, judged round by round like
// latency, in comparison.ts).

import { fmtNum, textTable } from '../format.js'
import type { LoadResult } from '../result.js'
import type { Wording } from '../verdict.js'
import { type ComponentCost, type Cost, NOT_ASKED } from './collect.js'

/** The summary lines of a result's cost; none when it was not asked for. */
export function costLines (cost: Cost | undefined): string[] {
  if (cost === undefined || (!cost.measured && cost.reason === NOT_ASKED.reason)) return []
  if (!cost.measured) return ['', `  cost        not measured: ${cost.reason}`]
  const w = cost.window
  const lines = ['', `  cost        from ${cost.prometheus}, over the measured ${fmtNum(w.end - w.start, 1)} s at ${fmtNum(cost.requests_per_second, 1)} req/s (step ${fmtNum(w.step_s, 0)} s)`]
  const rows = Object.entries(cost.components).map(([name, c]) => [
    name,
    `${fmtNum(c.cpu_cores.mean, 3)} (${fmtNum(c.cpu_cores.min, 3)}–${fmtNum(c.cpu_cores.max, 3)})`,
    fmtNum(c.memory_mb.max, 1),
    fmtNum(c.cpu_cores_per_1k_rps, 3),
    fmtNum(c.memory_mb_per_1k_rps, 1),
    c.series
  ])
  if (rows.length > 0) lines.push(textTable(['component', 'vCPU mean (min–max)', 'MB max', 'vCPU per 1k req/s', 'MB per 1k req/s', 'series'], rows))
  for (const m of cost.missing) lines.push(`  missing     ${m}`)
  return lines
}

/** The components any round measured, in the order they first appear. */
function components (rounds: readonly LoadResult[]): string[] {
  const names = new Set<string>()
  for (const r of rounds) {
    const cost = (r as Partial<LoadResult>).cost
    if (cost?.measured === true) for (const name of Object.keys(cost.components)) names.add(name)
  }
  return [...names]
}

export interface CostFigure {
  title: string
  wording: Wording
  get: (r: LoadResult) => number | null | undefined
}

/**
 * Two figures per component that any round measured: its vCPU and its MB
 * per 1,000 req/s. Memory is a process's, like the app's RSS: with one
 * process a side the rounds say nothing of another process of that kind
 * (`perProcess`, as comparison.ts decides for memory).
 */
export function costFigures (rounds: readonly LoadResult[], perProcess: boolean): CostFigure[] {
  return components(rounds).flatMap((name) => {
    const of = (r: LoadResult): ComponentCost | undefined => {
      const cost = (r as Partial<LoadResult>).cost
      return cost?.measured === true ? cost.components[name] : undefined
    }
    return [
      { title: `${name} vCPU per 1k req/s`, wording: { unit: 'vCPU', digits: 3, words: ['more', 'less'] }, get: (r: LoadResult) => of(r)?.cpu_cores_per_1k_rps },
      { title: `${name} MB per 1k req/s`, wording: { unit: 'MB', digits: 1, words: ['more', 'less'], perProcess }, get: (r: LoadResult) => of(r)?.memory_mb_per_1k_rps }
    ] satisfies CostFigure[]
  })
}
