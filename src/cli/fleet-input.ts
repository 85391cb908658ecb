// The measured runs a fleet projection (fleet.ts) starts from: `podmeter
// load -o` results, or targets of a saved comparison (`podmeter compare
// -o`), each carrying `cost` (docs/client.md, "Cost"). A source is FILE, or
// FILE#TARGET for one target of a comparison; a comparison without #TARGET
// gives its target named like the side (`sidecar`, `ambient`). Every round
// of a source is one measured run; a component's figure is the median over
// the runs, and each run is kept as the trace of where the figure came from.
//
// Whatever a file holds is checked before it is used: a run without cost,
// cost not measured, a component missing, a figure that is not a finite
// number ≥ 0 are refused with the file, the run and the key.

import { median } from '../shared/sample-stats.js'
import { COMPARISON_KIND, type Target } from './comparison.js'
import { readJsonFile } from './json-file.js'
import { checkResult, RESULT_KIND, type LoadResult } from './result.js'

/** Where one measured figure came from. */
export interface Trace {
  file: string
  /** The comparison's target, or the result's label; null when the result has none. */
  target: string | null
  /** The round within a comparison's target (from 1); null for a load result. */
  round: number | null
  /** The measured window, unix seconds, and Prometheus's step. */
  window: { start: number, end: number, step_s: number }
  /** The load's rate over that window, req/s. */
  requests_per_second: number
  component: string
  cpu_cores_per_1k_rps: number
  /** The component's max working set over the window, MB (10^6 bytes). */
  memory_mb_max: number
  /** How many series matched its queries. */
  series: number | null
}

/** One component of one side: the medians over its runs, and the runs. */
export interface MeasuredComponent {
  component: string
  cpu_cores_per_1k_rps: number
  memory_mb: number
  traces: Trace[]
}

export interface Side {
  /** `sidecar` or `ambient`. */
  name: string
  /** The runs, for the fingerprint check. */
  results: LoadResult[]
  /** Each component measured in every run, by name. */
  components: Map<string, MeasuredComponent>
  /** Components some run did not measure, with why (its cost.missing), by name. */
  missing: Map<string, string>
}

export class FleetInputError extends Error {
  override readonly name = 'FleetInputError'
}

interface Run { file: string, target: string | null, round: number | null, result: LoadResult }

const where = (run: Run): string => `${run.file}${run.target !== null && run.round !== null ? `#${run.target} round ${run.round}` : ''}`

/** The runs of one source: FILE or FILE#TARGET. */
async function runsOf (source: string, side: string): Promise<Run[]> {
  const hash = source.lastIndexOf('#')
  const file = hash > 0 ? source.slice(0, hash) : source
  const wanted = hash > 0 ? source.slice(hash + 1) : undefined
  const doc = await readJsonFile(file).catch((err: Error) => { throw new FleetInputError(err.message) }) as { kind?: unknown, targets?: unknown } | null
  if (doc?.kind === RESULT_KIND) {
    if (wanted !== undefined) throw new FleetInputError(`${file}: a load result has no targets (#${wanted} is for a saved comparison)`)
    const result = check(doc, file)
    return [{ file, target: result.label, round: null, result }]
  }
  if (doc?.kind === COMPARISON_KIND && Array.isArray(doc.targets)) {
    const targets = doc.targets as Target[]
    const name = wanted ?? side
    const t = targets.find((x) => x?.name === name)
    if (t === undefined || !Array.isArray(t.rounds)) {
      const names = targets.map((x) => x?.name).filter((n) => typeof n === 'string').join(', ')
      throw new FleetInputError(`${file}: no target ${JSON.stringify(name)} in this comparison (its targets: ${names || 'none'}); name one as ${file}#TARGET`)
    }
    return t.rounds.map((r, i) => ({ file, target: t.name, round: i + 1, result: check(r, `${file}#${t.name} round ${i + 1}`) }))
  }
  throw new FleetInputError(`${file}: neither a podmeter load result nor a saved comparison`)
}

function check (doc: unknown, at: string): LoadResult {
  try {
    return checkResult(doc, at)
  } catch (err) {
    throw new FleetInputError((err as Error).message)
  }
}

const object = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : undefined

/** A finite number ≥ 0 (> 0 when `positive`) at `key` of `o`, or a refusal naming the run and the key. */
function figure (o: Record<string, unknown> | undefined, key: string, run: Run, path: string, positive = false): number {
  const v = o?.[key]
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (positive && v === 0)) {
    throw new FleetInputError(`${where(run)}: cost.${path}${key} is ${v === undefined ? 'missing' : typeof v === 'number' ? String(v) : JSON.stringify(v)}, not a number ${positive ? '> 0' : '≥ 0'}`)
  }
  return v
}

/** The measured components of one run, each with its trace; why others are missing. */
function measured (run: Run): { traces: Trace[], missing: Map<string, string> } {
  const cost = object((run.result as { cost?: unknown }).cost)
  if (cost === undefined) throw new FleetInputError(`${where(run)}: has no cost (written by a podmeter without it, or edited): run the load with --prometheus URL`)
  if (cost.measured !== true) {
    const reason = typeof cost.reason === 'string' ? cost.reason : 'no reason given'
    throw new FleetInputError(`${where(run)}: cost was not measured (${reason}): run the load with --prometheus URL`)
  }
  const window = object(cost.window)
  const start = figure(window, 'start', run, 'window.')
  const end = figure(window, 'end', run, 'window.')
  if (end <= start) throw new FleetInputError(`${where(run)}: cost.window ends (${end}) before it starts (${start})`)
  const stepS = figure(window, 'step_s', run, 'window.', true)
  const rps = figure(cost, 'requests_per_second', run, '', true)
  const components = object(cost.components)
  if (components === undefined) throw new FleetInputError(`${where(run)}: cost.components is not an object`)
  const traces: Trace[] = []
  for (const [name, value] of Object.entries(components)) {
    const c = object(value)
    if (c === undefined) throw new FleetInputError(`${where(run)}: cost.components.${name} is not an object`)
    const series = c.series
    traces.push({
      file: run.file,
      target: run.target,
      round: run.round,
      window: { start, end, step_s: stepS },
      requests_per_second: rps,
      component: name,
      cpu_cores_per_1k_rps: figure(c, 'cpu_cores_per_1k_rps', run, `components.${name}.`),
      memory_mb_max: figure(object(c.memory_mb), 'max', run, `components.${name}.memory_mb.`),
      series: typeof series === 'number' && Number.isInteger(series) && series >= 0 ? series : null
    })
  }
  const missing = new Map<string, string>()
  if (Array.isArray(cost.missing)) {
    for (const m of cost.missing) {
      if (typeof m !== 'string') continue
      const colon = m.indexOf(':')
      missing.set(colon > 0 ? m.slice(0, colon).trim() : m.trim(), `${where(run)}: ${m}`)
    }
  }
  return { traces, missing }
}

/** Reads a side's sources; a component counts only if every run measured it. */
export async function readSide (name: string, sources: readonly string[]): Promise<Side> {
  const runs: Run[] = []
  for (const s of sources) runs.push(...await runsOf(s, name))
  const perRun = runs.map(measured)
  const missing = new Map<string, string>()
  for (const m of perRun) for (const [c, why] of m.missing) if (!missing.has(c)) missing.set(c, why)
  const names = new Set(perRun.flatMap((m) => m.traces.map((t) => t.component)))
  const components = new Map<string, MeasuredComponent>()
  for (const component of names) {
    const traces = perRun.map((m) => m.traces.find((t) => t.component === component))
    const absent = traces.findIndex((t) => t === undefined)
    if (absent >= 0) {
      if (!missing.has(component)) missing.set(component, `${where(runs[absent] as Run)}: not in its cost.components`)
      continue
    }
    const all = traces as Trace[]
    components.set(component, {
      component,
      cpu_cores_per_1k_rps: median(all.map((t) => t.cpu_cores_per_1k_rps)),
      memory_mb: median(all.map((t) => t.memory_mb_max)),
      traces: all
    })
  }
  return { name, results: runs.map((r) => r.result), components, missing }
}
