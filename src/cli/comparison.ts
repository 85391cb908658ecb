// A comparison: targets, each with the results of its rounds, and the rows
// of figures that `compare` prints. Latency figures are recomputed from each
// round's encoded histograms, so any percentile can be asked for later.

import { basename } from 'node:path'
import type { JsHistogram } from 'hdr-histogram-js'
import { decode, sumOf, summarizeMs } from '../shared/hdr.js'
import { checkResult, RESULT_KIND, type LatencyName, type LoadResult } from './result.js'
import { DEFAULT_ALPHA, judge, minRounds, spreadOf, type Spread, type Verdict, verdictText, type Wording } from './verdict.js'
import { type Cell, fmtMs, fmtNum, pName } from './format.js'
import { readJsonFile } from './json-file.js'
import { costFigures } from './cost/describe.js'

export const COMPARISON_KIND = 'podmeter-compare-result'
export const COMPARISON_VERSION = 1

export interface Target {
  name: string
  url: string | null
  rounds: LoadResult[]
}

export interface Comparison {
  kind: typeof COMPARISON_KIND
  version: number
  created_at: string
  targets: Target[]
  /** Live: the order the targets ran in, round by round (balanced: each round reverses the last). Absent for file comparisons. */
  order?: string[][]
}

export interface Row {
  title: string
  /** Per target: its rounds' spread, or null when none had the figure. */
  spreads: Array<Spread | null>
  /** Text cells when the figure is not a number (the mesh mode). */
  texts?: string[]
  /** Per target after the first: its verdict against the first. */
  verdicts: Array<{ verdict: Verdict, text: string } | null>
  wording: Wording
}

const LATENCY: Array<[LatencyName, string]> = [['e2e', 'end to end'], ['overhead', 'overhead'], ['server', 'server time']]
const MS: Wording = { unit: 'ms', digits: 3, words: ['slower', 'faster'] }

/** Every round's histogram of one kind, decoded. */
export function histograms (t: Target, name: LatencyName): JsHistogram[] {
  return t.rounds.flatMap((r, i) => {
    const text = r.histograms[name]
    return text === undefined ? [] : [decode(text, `${t.name} round ${i + 1} ${name}`)]
  })
}

/** All rounds of a target added into one histogram (exact: counts add). */
export function mergedHistogram (t: Target, name: LatencyName): JsHistogram {
  return sumOf(histograms(t, name))
}

/** Distinct target processes behind a target's rounds (hostname and start time from /stats); 0 when unknown. */
function processes (t: Target): number {
  const ids = t.rounds.map((r) => r.target_stats?.process_id).filter((id): id is string => typeof id === 'string')
  return ids.length < t.rounds.length ? 0 : new Set(ids).size
}

function row (c: Comparison, title: string, wording: Wording, alpha: number, get: (r: LoadResult) => number | null | undefined): Row {
  const values = c.targets.map((t) => t.rounds.map(get).filter((v): v is number => typeof v === 'number' && Number.isFinite(v)))
  const spreads = values.map((v) => spreadOf(v))
  const base = values[0] ?? []
  const verdicts = values.slice(1).map((v) => {
    if (base.length === 0 || v.length === 0) return null
    const verdict = judge(base, v, alpha)
    return { verdict, text: verdictText(verdict, wording) }
  })
  return { title, spreads, verdicts, wording }
}

export function buildRows (c: Comparison, percentiles: readonly number[], alpha = DEFAULT_ALPHA): Row[] {
  const rows: Row[] = []
  for (const [name, title] of LATENCY) {
    // One summary per round, computed once for all the percentiles.
    const perRound = new Map<LoadResult, Record<string, number | null>>()
    for (const t of c.targets) {
      t.rounds.forEach((r, i) => {
        const text = r.histograms[name]
        if (text !== undefined) perRound.set(r, summarizeMs(decode(text, `${t.name} round ${i + 1} ${name}`), percentiles).percentiles)
      })
    }
    for (const p of percentiles) rows.push(row(c, `${title} ${pName(p)}`, MS, alpha, (r) => perRound.get(r)?.[String(p)]))
  }
  rows.push(row(c, 'rate, req/s', { unit: 'req/s', digits: 1, words: ['higher', 'lower'] }, alpha, (r) => r.rate))
  rows.push(row(c, 'errors', { unit: '', digits: 0, words: ['more', 'fewer'] }, alpha, (r) => r.errors))
  // A process's memory drifts little from round to round, but two processes
  // of the same kind differ by more: with one process a side the rounds say
  // nothing about the modes, and the verdict says so.
  const onePerSide = c.targets.some((t) => processes(t) < minRounds(alpha))
  const mib: Wording = { unit: 'MiB', digits: 1, words: ['more', 'less'], perProcess: onePerSide }
  rows.push(row(c, 'app memory (RSS), MiB', mib, alpha, (r) => r.target_stats?.memory_sys_mb))
  rows.push(row(c, 'working set, MiB', mib, alpha, (r) => r.target_stats?.container_memory_working_set_mb))
  rows.push(row(c, 'sidecar memory, MiB', mib, alpha, (r) => r.target_stats?.sidecar_memory_mb))
  const modes = c.targets.map((t) => [...new Set(t.rounds.map((r) => r.target_stats?.service_mesh_mode).filter((m) => typeof m === 'string'))].join(', '))
  rows.push({ title: 'mesh mode', spreads: c.targets.map(() => null), texts: modes.map((m) => (m === '' ? '–' : m)), verdicts: [], wording: mib })
  // The cost from Prometheus, per component, per 1,000 req/s of each round.
  for (const f of costFigures(c.targets.flatMap((t) => t.rounds), onePerSide)) rows.push(row(c, f.title, f.wording, alpha, f.get))
  return rows
}

/**
 * Reads result files into targets: `NAME=FILE` puts a load result under NAME,
 * a bare FILE goes under its label (else its file name); a saved comparison
 * brings its targets along.
 */
export async function readComparison (args: readonly string[]): Promise<Comparison> {
  const targets: Target[] = []
  const targetNamed = (name: string, url: string | null): Target => {
    let t = targets.find((x) => x.name === name)
    if (t === undefined) { t = { name, url, rounds: [] }; targets.push(t) }
    return t
  }
  for (const arg of args) {
    const named = /^([\w.:@+-]{1,64})=(.+)$/.exec(arg)
    const file = named === null ? arg : named[2] as string
    const doc = await readJsonFile(file) as { kind?: unknown, targets?: Target[] } | null
    if (doc?.kind === COMPARISON_KIND && Array.isArray(doc.targets)) {
      for (const t of doc.targets) {
        const into = targetNamed(t.name, t.url)
        t.rounds.forEach((r, i) => into.rounds.push(checkResult(r, `${file}: ${t.name} round ${i + 1}`)))
      }
    } else if (doc?.kind === RESULT_KIND) {
      const r = checkResult(doc, file)
      targetNamed(named?.[1] ?? r.label ?? basename(file).replace(/\.json$/i, ''), r.url).rounds.push(r)
    } else {
      throw new Error(`${file}: neither a podmeter load result nor a saved comparison`)
    }
  }
  return { kind: COMPARISON_KIND, version: COMPARISON_VERSION, created_at: new Date().toISOString(), targets }
}

function spreadCell (row: Row, i: number): string {
  if (row.texts !== undefined) return row.texts[i] ?? '–'
  const s = row.spreads[i]
  if (s === null || s === undefined) return '–'
  const f = (x: number): string => row.wording.unit === 'ms' ? fmtMs(x) : fmtNum(x, row.wording.digits)
  return s.n === 1 ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`
}

function diffCell (row: Row, j: number): string {
  const v = row.verdicts[j]?.verdict
  if (v === undefined) return '–'
  const digits = row.wording.unit === 'ms' ? 3 : row.wording.digits
  return `${v.diff > 0 ? '+' : ''}${row.wording.unit === 'ms' ? v.diff.toFixed(3) : fmtNum(v.diff, digits)}`
}

/** Header and cells of the comparison table: figure, each target, then each other target's difference and verdict. */
export function tableOf (c: Comparison, rows: Row[]): { header: Cell[], cells: Cell[][] } {
  const base = c.targets[0]?.name ?? ''
  const others = c.targets.slice(1)
  const header: Cell[] = ['figure (median of rounds, min–max)', ...c.targets.map((t) => `${t.name} (${t.rounds.length})`)]
  for (const t of others) header.push(`${t.name} − ${base}`, `verdict ${t.name} vs ${base}`)
  const cells = rows.map((row) => {
    const line: Cell[] = [row.title, ...c.targets.map((_, i) => spreadCell(row, i))]
    others.forEach((_, j) => line.push(diffCell(row, j), row.verdicts[j]?.text ?? ''))
    return line
  })
  return { header, cells }
}
