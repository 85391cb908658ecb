// The cost of a run, read from Prometheus: for each component of the query
// set (queries.ts), the CPU cores and the memory it used over the measured
// window, and each per 1,000 req/s of the load measured in that window.
//
// CPU is a range query of rate() over {range}, from window start + range to
// window end at the step, so that every step's rate covers load only (the
// warm-up and the idle time before are never in it); its per-step values,
// added over the series, are the samples. Memory is a range query of the
// working set over the whole window, added over the series per step; its
// max and mean are reported. The queries run one after the other, and the
// first failure ends the collection: any error is a cost not measured, with
// its reason, never a failed run.

import { type CostOptions } from './options.js'
import { PrometheusError, queryRange, redactedUrl, type RangeSeries } from './prometheus-api.js'
import { fill, placeholdersOf, type Placeholder, type Values } from './templates.js'

export interface CostWindow {
  /** The measured window (after warm-up), unix seconds. */
  start: number
  end: number
  /** The range queries' step, s. */
  step_s: number
}

export interface ComponentCost {
  /** CPU cores: the mean, min and max of the per-step rates, and the rates. */
  cpu_cores: { mean: number, min: number, max: number, samples: number[] }
  /** Working set, MB (10^6 bytes, Istio's "MB"): the max and mean over the steps. */
  memory_mb: { max: number, mean: number }
  /** mean cpu_cores / requests_per_second × 1000; null when no request was answered. */
  cpu_cores_per_1k_rps: number | null
  /** max memory_mb / requests_per_second × 1000; null when no request was answered. */
  memory_mb_per_1k_rps: number | null
  /** How many series the CPU query returned (added per step). */
  series: number
  /** The PromQL as sent. */
  queries: { cpu: string, memory: string }
}

export interface CostMeasured {
  measured: true
  /** The Prometheus queried; userinfo and query string never written. */
  prometheus: string
  window: CostWindow
  /** The load's measured rate over the same window (the result's `rate`). */
  requests_per_second: number
  components: Record<string, ComponentCost>
  /** `<component>: <why>` for each component not measured (no series, a value unknown). */
  missing: string[]
}

export type Cost = CostMeasured | { measured: false, reason: string }

export const NOT_ASKED = { measured: false, reason: 'no --prometheus given' } as const satisfies Cost

/** What the run says of itself and its target: the window, the rate, and where the server runs. */
export interface CostTarget {
  /** The measured window, unix seconds. */
  start: number
  end: number
  rps: number
  namespace: string | null
  pod: string | null
  node: string | null
  clientNode: string | null
}

/** Prometheus answers at most 11,000 points per series; stay under it. */
const MAX_POINTS = 10_000

const UNKNOWN: Record<Placeholder, string> = {
  namespace: "the server's namespace is unknown: its /stats has no pod_namespace (give --namespace)",
  pod: "the server's pod is unknown: no /stats hostname was read",
  node: "the server's node is unknown: its /stats has no node_name",
  client_node: "the client's node is unknown (give --client-node, or $NODE_NAME)",
  waypoint: 'no waypoint name',
  waypoint_namespace: "the waypoint's namespace is unknown: give --waypoint NAMESPACE/NAME",
  istio_namespace: "ztunnel's namespace is unknown",
  range: 'no range'
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits))
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length

/** `30s`, `1500ms`: a PromQL duration. */
export function promDuration (seconds: number): string {
  const ms = Math.round(seconds * 1000)
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`
}

/** Every series' values added per step, in time order; NaN and infinities left out. */
export function perStep (series: readonly RangeSeries[]): number[] {
  const sums = new Map<number, number>()
  for (const s of series) {
    for (const [t, v] of s.values) if (Number.isFinite(v)) sums.set(t, (sums.get(t) ?? 0) + v)
  }
  return [...sums].sort((a, b) => a[0] - b[0]).map(([, v]) => v)
}

export async function collectCost (o: CostOptions, t: CostTarget, timeoutMs?: number): Promise<Cost> {
  const duration = t.end - t.start
  if (!(duration >= o.rangeS)) {
    return { measured: false, reason: `the measured window (${round(Math.max(duration, 0), 1)} s) is shorter than the CPU queries' rate range (${promDuration(o.rangeS)}): run longer (-d) or give a shorter --cost-range` }
  }
  const step = Math.max(o.stepS, Math.ceil((duration / MAX_POINTS) * 1000) / 1000)
  const window: CostWindow = { start: round(t.start, 3), end: round(t.end, 3), step_s: step }
  const values: Values = {
    namespace: t.namespace,
    pod: t.pod,
    node: t.node,
    client_node: t.clientNode,
    waypoint: o.waypoint,
    waypoint_namespace: o.waypointNamespace ?? t.namespace,
    istio_namespace: o.istioNamespace,
    range: promDuration(o.rangeS)
  }
  const components: Record<string, ComponentCost> = {}
  const missing: string[] = []
  for (const [name, templates] of Object.entries(o.queries)) {
    const uses = new Set([...placeholdersOf(templates.cpu), ...placeholdersOf(templates.memory)])
    // The client's node's ztunnel is another one only on another node: on the
    // server's, it is the server's ztunnel, counted once.
    if (uses.has('client_node') && t.clientNode !== null && t.clientNode === t.node) {
      missing.push(`${name}: the client runs on the server's node (${t.node}): its ztunnel is the server's, counted once`)
      continue
    }
    const cpu = fill(templates.cpu, values)
    const memory = fill(templates.memory, values)
    if ('unknown' in cpu || 'unknown' in memory) {
      missing.push(`${name}: ${UNKNOWN['unknown' in cpu ? cpu.unknown : (memory as { unknown: Placeholder }).unknown]}`)
      continue
    }
    let cpuSeries: RangeSeries[]
    let memorySeries: RangeSeries[]
    try {
      cpuSeries = await queryRange(o.prometheus, cpu.query, round(t.start + (uses.has('range') ? o.rangeS : 0), 3), window.end, step, timeoutMs)
      memorySeries = await queryRange(o.prometheus, memory.query, window.start, window.end, step, timeoutMs)
    } catch (err) {
      if (!(err instanceof PrometheusError)) throw err
      return { measured: false, reason: `${name}: ${err.message}` }
    }
    const rates = perStep(cpuSeries)
    const bytes = perStep(memorySeries)
    if (rates.length === 0 || bytes.length === 0) {
      missing.push(`${name}: no series matched its ${rates.length === 0 ? 'CPU' : 'memory'} query in the window`)
      continue
    }
    const cores = mean(rates)
    const maxMb = Math.max(...bytes) / 1e6
    components[name] = {
      cpu_cores: { mean: round(cores, 6), min: round(Math.min(...rates), 6), max: round(Math.max(...rates), 6), samples: rates.map((r) => round(r, 6)) },
      memory_mb: { max: round(maxMb, 3), mean: round(mean(bytes) / 1e6, 3) },
      cpu_cores_per_1k_rps: t.rps > 0 ? round((cores / t.rps) * 1000, 6) : null,
      memory_mb_per_1k_rps: t.rps > 0 ? round((maxMb / t.rps) * 1000, 3) : null,
      series: cpuSeries.length,
      queries: { cpu: cpu.query, memory: memory.query }
    }
  }
  return { measured: true, prometheus: redactedUrl(o.prometheus.href), window, requests_per_second: t.rps, components, missing }
}
