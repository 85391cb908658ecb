// The options of the cost figures (`--prometheus URL` and the ones that
// shape its queries), shared by `podmeter load` and `podmeter compare` as
// part of the load options. Each documents its default and unit here.
// Without --prometheus (and without $PODMETER_PROMETHEUS) nothing is
// queried, and the other cost options are refused as having no effect.

import { type OptionSpec, type Reader, UsageError } from '../args.js'
import { isDnsLabel } from '../../shared/node-name.js'
import { prometheusBase, PrometheusError } from './prometheus-api.js'
import type { QuerySet } from './queries.js'
import { readQuerySet } from './templates.js'

export interface CostOptions {
  /** --prometheus, else $PODMETER_PROMETHEUS: the Prometheus to query (its HTTP API under this URL). */
  prometheus: URL
  /** --cost-queries: the query set, the default (cAdvisor) one with a file's components laid over it. */
  queries: QuerySet
  /** --cost-step: the step of the range queries, s. Default 15 (Istio's sample Prometheus scrapes every 15 s). */
  stepS: number
  /** --cost-range: the range of rate() ({range}), s. Default 30: two scrapes at 15 s. */
  rangeS: number
  /** --namespace: the server's namespace when its /stats has no pod_namespace. Default: none. */
  namespace: string | null
  /** --waypoint [NAMESPACE/]NAME: the waypoint's name, default "waypoint" (istioctl's); its namespace, default the server's (null). */
  waypoint: string
  waypointNamespace: string | null
  /** --istio-namespace: where ztunnel runs. Default istio-system. */
  istioNamespace: string
}

export const DEFAULT_COST_STEP_S = 15
export const DEFAULT_COST_RANGE_S = 30
export const DEFAULT_WAYPOINT = 'waypoint'
export const DEFAULT_ISTIO_NAMESPACE = 'istio-system'
export const PROMETHEUS_ENV = 'PODMETER_PROMETHEUS'

export const COST_OPTIONS: OptionSpec[] = [
  { name: 'prometheus', value: 'URL', help: `query this Prometheus for the CPU and memory of the app, its sidecar, ztunnel and the waypoint over the measured window (default $${PROMETHEUS_ENV}; none: cost not measured)` },
  { name: 'cost-queries', value: 'NAME|FILE', help: 'the cost queries: a built-in set (cadvisor, the default) or a JSON file of component → {"cpu", "memory"} PromQL templates laid over it' },
  { name: 'cost-step', value: 'TIME', help: `step of the cost range queries (default ${DEFAULT_COST_STEP_S}s; at most the scrape interval)` },
  { name: 'cost-range', value: 'TIME', help: `range of the CPU queries' rate(), {range} (default ${DEFAULT_COST_RANGE_S}s; two scrapes or more, and no longer than the measured window)` },
  { name: 'namespace', value: 'NS', help: "the server's Kubernetes namespace, when its /stats has no pod_namespace" },
  { name: 'waypoint', value: '[NS/]NAME', help: `the waypoint serving the target, for its cost (default ${DEFAULT_WAYPOINT}, in the server's namespace)` },
  { name: 'istio-namespace', value: 'NS', help: `ztunnel's namespace (default ${DEFAULT_ISTIO_NAMESPACE})` }
]

function nameOf (option: string, text: string): string {
  if (!isDnsLabel(text)) throw new UsageError(`--${option}: ${JSON.stringify(text.slice(0, 80))} is not a Kubernetes name (lower-case letters, digits and -, at most 63)`)
  return text
}

/** The cost options; null without --prometheus and $PODMETER_PROMETHEUS. */
export function readCostOptions (r: Reader, env: NodeJS.ProcessEnv = process.env): CostOptions | null {
  const flag = r.string('prometheus')
  const text = flag ?? (env[PROMETHEUS_ENV] === '' ? undefined : env[PROMETHEUS_ENV])
  if (text === undefined) {
    const given = COST_OPTIONS.find((o) => o.name !== 'prometheus' && r.has(o.name))
    if (given !== undefined) throw new UsageError(`--${given.name} is for the cost figures: give --prometheus URL (or $${PROMETHEUS_ENV})`)
    return null
  }
  let prometheus: URL
  try {
    prometheus = prometheusBase(text)
  } catch (err) {
    if (!(err instanceof PrometheusError)) throw err
    throw new UsageError(`${flag === undefined ? `$${PROMETHEUS_ENV}` : '--prometheus'}: ${err.message}`)
  }
  const waypoint = r.string('waypoint') ?? DEFAULT_WAYPOINT
  const slash = waypoint.indexOf('/')
  const waypointName = slash < 0 ? waypoint : waypoint.slice(slash + 1)
  const namespace = r.string('namespace')
  const istio = r.string('istio-namespace')
  return {
    prometheus,
    queries: readQuerySet(r.string('cost-queries')),
    stepS: (r.durationUs('cost-step', 's', 100_000, 3_600_000_000) ?? DEFAULT_COST_STEP_S * 1e6) / 1e6,
    rangeS: (r.durationUs('cost-range', 's', 1_000_000, 86_400_000_000) ?? DEFAULT_COST_RANGE_S * 1e6) / 1e6,
    namespace: namespace === undefined ? null : nameOf('namespace', namespace),
    waypoint: nameOf('waypoint', waypointName),
    waypointNamespace: slash < 0 ? null : nameOf('waypoint', waypoint.slice(0, slash)),
    istioNamespace: istio === undefined ? DEFAULT_ISTIO_NAMESPACE : nameOf('istio-namespace', istio)
  }
}
