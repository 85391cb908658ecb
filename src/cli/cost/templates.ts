// The {placeholders} of the cost queries (queries.ts): which exist, what
// each stands for, filling them for one run, and reading a user's query set
// (`--cost-queries FILE`), which is checked whole before any load is sent.
//
// A placeholder is `{name}` with name in lower case and _ only, so PromQL's
// own braces (`{namespace="x"}`, a regex's `{5}`) are never taken for one.
// The values put in are Kubernetes names (checked, so no quote or backslash
// can reach the PromQL) and a duration.

import { readFileSync } from 'node:fs'
import { UsageError } from '../args.js'
import { QUERY_SETS, type QuerySet, type QueryTemplates } from './queries.js'

/** Every placeholder, with where its value comes from (for docs and messages). */
export const PLACEHOLDERS = {
  namespace: "the server pod's namespace: its /stats pod_namespace, else --namespace",
  pod: "the server pod's name: its /stats hostname",
  node: "the server pod's node: its /stats node_name",
  client_node: "the client's node (--client-node, $NODE_NAME), when it is not the server's",
  waypoint: 'the waypoint\'s name (--waypoint, default "waypoint")',
  waypoint_namespace: "the waypoint's namespace (--waypoint NAMESPACE/NAME), else the server's",
  istio_namespace: "ztunnel's namespace (--istio-namespace, default istio-system)",
  range: 'the range of rate(), like 30s (--cost-range)'
} as const

export type Placeholder = keyof typeof PLACEHOLDERS
/** The values of one run; null where unknown (a component that needs it is reported missing). */
export type Values = Record<Placeholder, string | null>

const PLACEHOLDER = /\{([a-z_]+)\}/g
const COMPONENT = /^[a-z][a-z0-9_]{0,39}$/
const MAX_QUERY = 4000
const MAX_FILE = 1024 * 1024

/** The placeholders a template uses, in order of first use. */
export function placeholdersOf (template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1] as string))]
}

/** The template with every placeholder put in, or the first placeholder whose value is unknown. */
export function fill (template: string, values: Values): { query: string } | { unknown: Placeholder } {
  for (const name of placeholdersOf(template)) if (values[name as Placeholder] === null) return { unknown: name as Placeholder }
  return { query: template.replace(PLACEHOLDER, (_, name: string) => values[name as Placeholder] as string) }
}

/** Refuses a set with an unknown placeholder, an empty template or a bad component name. */
export function checkQuerySet (set: ReadonlyMap<string, unknown>, where: string): QuerySet {
  const out: QuerySet = {}
  for (const [name, q] of set) {
    if (!COMPONENT.test(name)) throw new UsageError(`${where}: ${JSON.stringify(name.slice(0, 60))} is not a component name (a lower-case letter, then letters, digits or _, at most 40)`)
    const t = q as Partial<QueryTemplates> | null
    if (t === null || typeof t !== 'object' || Array.isArray(t)) throw new UsageError(`${where}: ${name} is not {"cpu": "…", "memory": "…"} (or null to leave it out)`)
    const extra = Object.keys(t).filter((k) => k !== 'cpu' && k !== 'memory')
    if (extra.length > 0) throw new UsageError(`${where}: ${name} has ${extra.map((k) => JSON.stringify(k)).join(', ')}: a component has "cpu" and "memory" only`)
    for (const kind of ['cpu', 'memory'] as const) {
      const text = t[kind]
      if (typeof text !== 'string' || text.trim() === '') throw new UsageError(`${where}: ${name}.${kind} is not a PromQL template (a non-empty string)`)
      if (text.length > MAX_QUERY) throw new UsageError(`${where}: ${name}.${kind} is over ${MAX_QUERY} characters`)
      const unknown = placeholdersOf(text).filter((p) => !(p in PLACEHOLDERS))
      if (unknown.length > 0) throw new UsageError(`${where}: ${name}.${kind} uses {${unknown[0] as string}}; the placeholders are ${Object.keys(PLACEHOLDERS).map((p) => `{${p}}`).join(' ')}`)
    }
    out[name] = { cpu: t.cpu as string, memory: t.memory as string }
  }
  if (Object.keys(out).length === 0) throw new UsageError(`${where}: no component left to measure`)
  return out
}

/**
 * --cost-queries: the name of a built-in set (`cadvisor`, …), or a JSON file
 * of component → {cpu, memory} laid over the default set: a component named
 * there replaces the default's, a new name is added, and null leaves a
 * default component out. Without the option, the default set.
 */
export function readQuerySet (arg: string | undefined): QuerySet {
  const [first] = Object.values(QUERY_SETS) as [QuerySet]
  if (arg === undefined) return first
  const named = Object.hasOwn(QUERY_SETS, arg) ? QUERY_SETS[arg] : undefined
  if (named !== undefined) return named
  const where = `--cost-queries ${arg}`
  let text: string
  try {
    text = readFileSync(arg, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? `no such file (nor a built-in set: ${Object.keys(QUERY_SETS).join(', ')})` : code === 'EISDIR' ? 'a directory, not a file' : (err as Error).message
    throw new UsageError(`${where}: ${why}`)
  }
  if (text.length > MAX_FILE) throw new UsageError(`${where}: over ${MAX_FILE} bytes`)
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw new UsageError(`${where}: not JSON (${(err as Error).message})`)
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new UsageError(`${where}: not a JSON object of component → {"cpu": "…", "memory": "…"}`)
  const merged = new Map<string, unknown>(Object.entries(first))
  for (const [name, q] of Object.entries(doc)) {
    if (q === null) merged.delete(name)
    else merged.set(name, q)
  }
  return checkQuerySet(merged, where)
}
