// Every PromQL expression of a Grafana dashboard, as Prometheus would get
// it: each panel's targets (panels in rows too, collapsed or not) and each
// query variable's query, with Grafana's variables replaced. For tests that
// check the dashboard against its metrics, or run it against a Prometheus.

import { readFileSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import { ROOT } from './helpers.js'

/** The dashboard shipped in deploy/, relative to the repository root. */
export const DASHBOARD = 'deploy/grafana/podmeter.json'

export interface DashboardQuery {
  /** The panel's title, or `variable NAME` for a template variable's query. */
  panel: string
  refId: string
  expr: string
}

interface Panel { title?: string, type?: string, libraryPanel?: unknown, targets?: Array<{ refId?: string, expr?: unknown }>, panels?: Panel[] }
interface Variable { name: string, type: string, query?: string | { query?: string }, definition?: string }
interface Dashboard { panels?: Panel[], templating?: { list?: Variable[] } }

/**
 * `$name`, `${name}`, `${name:format}` and `[[name]]` replaced: the interval
 * variables (`$__rate_interval`, `$__interval`) by `vars.rate` (default 15s),
 * `$namespace` by `vars.namespace` (default `.+`, as the All value), any other
 * name by `vars[name]` when given. A variable not given stays as it is.
 */
export function substitute (expr: string, vars: Record<string, string> = {}): string {
  const { rate = '15s', ...given } = vars
  const values: Record<string, string> = { ...given, namespace: vars.namespace ?? '.+', __rate_interval: rate, __interval: rate }
  return expr.replace(/\$\{(\w+)(?::[\w-]+)?\}|\[\[(\w+)(?::[\w-]+)?\]\]|\$(\w+)/g, (whole, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c) as string
    return Object.hasOwn(values, name) ? values[name] as string : whole
  })
}

/**
 * The PromQL a query variable runs. `label_values(selector, label)` asks
 * Prometheus for the series of `selector`, so that is its expression;
 * `query_result(expr)` runs `expr`. Anything else has no expression to run
 * and is an error, so that no query of the dashboard is silently left out.
 */
function variableExpr (v: Variable): string {
  const q = (typeof v.query === 'string' ? v.query : v.query?.query ?? v.definition ?? '').trim()
  const labelValues = /^label_values\(\s*(.+)\s*,\s*[A-Za-z_]\w*\s*\)$/s.exec(q)
  if (labelValues !== null) return (labelValues[1] as string).trim()
  const result = /^query_result\((.+)\)$/s.exec(q)
  if (result !== null) return (result[1] as string).trim()
  throw new Error(`variable ${v.name}: ${JSON.stringify(q)} has no PromQL expression to check (label_values without a metric, label_names, metrics?)`)
}

/** Every PromQL expression in `file` (relative to the repository root, or absolute), variables substituted. */
export function dashboardQueries (file: string = DASHBOARD, vars: Record<string, string> = {}): DashboardQuery[] {
  const dashboard = JSON.parse(readFileSync(isAbsolute(file) ? file : join(ROOT, file), 'utf8')) as Dashboard
  const out: DashboardQuery[] = []
  const walk = (panels: Panel[]): void => {
    for (const p of panels) {
      const title = p.title ?? '(untitled)'
      if (p.libraryPanel !== undefined) throw new Error(`panel ${title}: a library panel's queries are not in the dashboard JSON`)
      for (const t of p.targets ?? []) {
        if (typeof t.expr === 'string') out.push({ panel: title, refId: t.refId ?? '', expr: substitute(t.expr, vars) })
      }
      // A collapsed row holds its panels; an expanded one is followed by them.
      walk(p.panels ?? [])
    }
  }
  walk(dashboard.panels ?? [])
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type === 'query') out.push({ panel: `variable ${v.name}`, refId: v.name, expr: substitute(variableExpr(v), vars) })
  }
  return out
}
