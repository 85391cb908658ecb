// `podmeter cost`: the fleet projection. Per-proxy CPU and memory measured
// in runs that carry `cost` (podmeter load --prometheus), for a sidecar mesh
// and for ambient, turned into a fleet of --pods over --nodes at --rps each
// (fleet.ts), printed with the assumptions beside the figures and each
// figure's runs: the file, the target or label, the window, the component.
//
// The two sides must have run alike: their results are held to the same
// fingerprint fields as compare's (payload, connections, rate, placement,
// Istio, proxy concurrency…), with the same --allow-different.
//
// Exit codes: 0 projected; 2 usage, a file that cannot be used (no cost,
// cost not measured, a component missing, a figure that is not a number), or
// fingerprints that differ.

import { writeFile } from 'node:fs/promises'
import { type CommandSpec, parseArgs, Reader, UsageError } from './args.js'
import type { Comparison } from './comparison.js'
import { COMPARISON_KIND, COMPARISON_VERSION } from './comparison.js'
import { allowedFields, checkFingerprints, FIELDS } from './fingerprint.js'
import { FleetInputError, readSide, type Side } from './fleet-input.js'
import { type Fleet, project, type Projection } from './fleet.js'
import { renderProjection } from './fleet-format.js'

export const COST_SPEC: CommandSpec = {
  command: 'cost',
  usage: '--sidecar SOURCE --ambient SOURCE --pods N --nodes M --rps R [--waypoints K] [-o FILE]',
  summary: 'Projects what the mesh costs a fleet: N pods over M nodes at R req/s each, with sidecars and with ambient, in vCPU and GiB, from the per-proxy cost measured in runs of `podmeter load --prometheus` (or of `podmeter compare`).',
  options: [
    { name: 'sidecar', value: 'SOURCE', repeat: true, help: 'runs with a sidecar: a load result FILE, or FILE#TARGET of a saved comparison (FILE alone takes its target "sidecar"); repeat for more runs' },
    { name: 'ambient', value: 'SOURCE', repeat: true, help: 'runs in ambient, as --sidecar (FILE alone takes the target "ambient")' },
    { name: 'pods', value: 'N', help: 'pods in the fleet (each with a sidecar, or in ambient)' },
    { name: 'nodes', value: 'M', help: 'nodes the pods run on (one ztunnel each)' },
    { name: 'rps', value: 'R', help: 'req/s each pod serves' },
    { name: 'waypoints', value: 'K', help: 'waypoints of the ambient fleet, per service or namespace (needed when the ambient runs measured one; 0 for none)' },
    { name: 'allow-different', value: 'FIELD', repeat: true, help: `use runs that differ in FIELD anyway: ${FIELDS.map((f) => f.name).join(', ')}` },
    { name: 'output', short: 'o', value: 'FILE', help: 'write the projection as JSON (- for stdout, the table then on stderr)' }
  ],
  notes: [
    'Each figure is T ÷ 1,000 × the vCPU per 1,000 req/s measured (T = pods × req/s each), and instances × the max working set measured: a sidecar per pod, a ztunnel per node, --waypoints waypoints. With several runs a side, each figure is their median. The assumptions are printed beside the figures; docs/client.md ("Fleet projection") has the formulas.',
    'Exit codes: 0 projected; 2 usage, a run that cannot be used (no cost, cost not measured, a component missing, a figure that is not a number) or runs whose fingerprints differ (--allow-different).'
  ]
}

function fleetOf (r: Reader, ambient: boolean): Fleet {
  const missing = ['pods', 'nodes', 'rps'].filter((n) => !r.has(n))
  if (missing.length > 0) throw new UsageError(`needs ${missing.map((n) => `--${n}`).join(', ')}: the fleet to project (like --pods 200 --nodes 20 --rps 50)`)
  const pods = r.int('pods', 1, 10_000_000) as number
  const nodes = r.int('nodes', 1, 1_000_000) as number
  const rps = r.number('rps', 0, 10_000_000) as number
  if (rps === 0) throw new UsageError('--rps: "0" is not a rate: give the req/s each pod serves, more than 0')
  const waypoints = r.int('waypoints', 0, 1_000_000)
  if (waypoints !== undefined && !ambient) throw new UsageError('--waypoints is for the ambient side: give --ambient too')
  return { pods, nodes, rpsPerPod: rps, waypoints }
}

/** A run whose target reported another mesh mode than its side's: a note, not a refusal (a lab's stand-ins report none). */
function modeNotes (sides: readonly Side[]): string[] {
  const notes: string[] = []
  for (const side of sides) {
    const modes = new Set(side.results.map((r) => (r as Partial<typeof r>).fingerprint?.mode ?? r.target_stats?.service_mesh_mode).filter((m): m is string => typeof m === 'string'))
    const fits = (m: string): boolean => side.name === 'sidecar' ? m === 'sidecar' : m.startsWith('ambient')
    const other = [...modes].filter((m) => !fits(m))
    if (other.length > 0) notes.push(`note: the ${side.name} runs' targets reported mesh mode ${other.join(', ')}: their figures are taken as the ${side.name} side's, as given`)
  }
  return notes
}

export async function costCommand (argv: string[]): Promise<number> {
  const parsed = parseArgs(argv, COST_SPEC)
  if (parsed.positionals.length > 0) throw new UsageError(`takes its runs as --sidecar and --ambient, not ${parsed.positionals.join(' ')}`)
  const r = new Reader(parsed, COST_SPEC)
  const { allowed, unknown } = allowedFields(r.all('allow-different'))
  if (unknown.length > 0) throw new UsageError(`--allow-different: ${unknown.map((n) => JSON.stringify(n)).join(', ')} is not a field runs are held equal in; the fields: ${FIELDS.map((f) => f.name).join(', ')}`)
  const given = (['sidecar', 'ambient'] as const).filter((s) => r.has(s))
  if (given.length === 0) throw new UsageError('needs runs: --sidecar SOURCE, --ambient SOURCE, or both')
  const fleet = fleetOf(r, given.includes('ambient'))
  let projection: Projection
  const sides: Side[] = []
  try {
    for (const name of given) sides.push(await readSide(name, r.all(name)))
    const check = checkFingerprints(comparisonOf(sides), allowed)
    if (check.table !== null) process.stderr.write(`podmeter cost: ${check.table}\n`)
    for (const line of [...check.notes, ...modeNotes(sides)]) process.stderr.write(`podmeter cost: ${line}\n`)
    if (check.refusals.length > 0) throw new UsageError(check.refusals.map((l) => l.replace('compare like with like', 'project from runs alike')).join('\n'))
    projection = project(fleet, sides)
  } catch (err) {
    if (err instanceof FleetInputError) throw new UsageError(err.message)
    throw err
  }
  const output = r.string('output')
  const human = output === '-' ? process.stderr : process.stdout
  human.write(renderProjection(projection) + '\n')
  if (output === '-') {
    process.stdout.write(JSON.stringify(projection) + '\n')
  } else if (output !== undefined) {
    try {
      await writeFile(output, JSON.stringify(projection, null, 2) + '\n')
    } catch (err) {
      throw new UsageError(`-o/--output: cannot write ${JSON.stringify(output)}: ${(err as Error).message}`)
    }
    process.stderr.write(`wrote ${output}\n`)
  }
  return 0
}

/** The sides as a comparison's targets, for compare's fingerprint check. */
function comparisonOf (sides: readonly Side[]): Comparison {
  return { kind: COMPARISON_KIND, version: COMPARISON_VERSION, created_at: new Date().toISOString(), targets: sides.map((s) => ({ name: s.name, url: null, rounds: s.results })) }
}
