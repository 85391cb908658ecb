// The fleet projection for people: one table of every component of each
// side with its instances, its rate, what was measured and what the fleet
// needs, the mesh totals and their difference; then the assumptions, and
// the runs each figure came from ([n] in the table).

import { type Cell, fmtInt, fmtNum, textTable } from './format.js'
import type { Projection } from './fleet.js'
import type { Trace } from './fleet-input.js'

const PER: Record<string, string> = { pod: 'pod', node: 'node', waypoint: 'waypoint' }

const iso = (unix: number): string => new Date(unix * 1000).toISOString().replace('.000Z', 'Z')

/** `sidecar.json#sidecar round 2 (window 2026-12-03T13:00:00Z to …, 60 s, step 5 s) at 1,000.0 req/s: …` */
function traceText (t: Trace): string {
  const run = t.round === null ? `${t.file}${t.target === null ? '' : ` (label ${t.target})`}` : `${t.file}#${t.target ?? '?'} round ${t.round}`
  const seconds = t.window.end - t.window.start
  return `${run}, window ${iso(t.window.start)} to ${iso(t.window.end)} (${fmtNum(seconds, 0)} s, step ${fmtNum(t.window.step_s, 0)} s) at ${fmtNum(t.requests_per_second, 1)} req/s: ` +
    `${t.component} ${fmtNum(t.cpu_cores_per_1k_rps, 4)} vCPU per 1k req/s, ${fmtNum(t.memory_mb_max, 1)} MB max`
}

export function renderProjection (p: Projection): string {
  const f = p.fleet
  const lines = [`podmeter cost: ${fmtInt(f.pods)} pods over ${fmtInt(f.nodes)} nodes at ${fmtNum(f.rps_per_pod, f.rps_per_pod % 1 === 0 ? 0 : 2)} req/s each (${fmtNum(f.total_rps, 0)} req/s in all)${f.waypoints === null ? '' : `, ${fmtInt(f.waypoints)} waypoint${f.waypoints === 1 ? '' : 's'}`}`, '']
  const header: Cell[] = ['side', 'component', 'one per', 'instances', 'req/s each', 'vCPU per 1k req/s', 'MB each', 'vCPU', 'GiB', 'from']
  const rows: Cell[][] = []
  const sources: string[] = []
  let n = 0
  for (const side of p.sides) {
    for (const c of side.components) {
      n++
      sources.push(`  [${n}] ${side.name} ${c.component}${c.traces.length > 1 ? `: the median of ${c.traces.length} runs` : ''}`, ...c.traces.map((t) => `      ${traceText(t)}`))
      rows.push([side.name, c.in_total ? c.component : `${c.component} (not in the total)`, PER[c.per], fmtInt(c.instances), fmtNum(c.rps_per_instance, 1), fmtNum(c.cpu_cores_per_1k_rps, 4), fmtNum(c.memory_mb_per_instance, 1), fmtNum(c.vcpu, 3), fmtNum(c.memory_gib, 2), `[${n}]`])
    }
    rows.push([side.name, 'mesh total', '', '', '', '', '', fmtNum(side.mesh_total.vcpu, 3), fmtNum(side.mesh_total.memory_gib, 2), ''])
  }
  if (p.difference !== null) {
    const sign = (n: number, digits: number): string => `${n > 0 ? '+' : ''}${fmtNum(n, digits)}`
    rows.push(['sidecar − ambient', '', '', '', '', '', '', sign(p.difference.vcpu, 3), sign(p.difference.memory_gib, 2), ''])
  }
  lines.push(textTable(header, rows, '  ', new Set([1, 2, 9])))
  lines.push('', 'assumptions:', ...p.assumptions.map((a) => `  - ${a}`))
  if (p.notes.length > 0) lines.push('', 'notes:', ...p.notes.map((n) => `  - ${n}`))
  lines.push('', 'from (each figure\'s measured runs):', ...sources)
  return lines.join('\n')
}
