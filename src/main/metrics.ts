// GET /metrics: prom-client's default process and Node.js metrics plus
// PodMeter's own, all read at scrape time: counters from the shared buffer,
// the latency histogram's `le` buckets from the worker (cumulative HDR counts
// at each boundary, see cumulativeAt in src/shared/hdr.ts). Nothing happens per request.
//
// One registry per exposition format, each made on first use. prom-client's
// Registry.metrics() in OpenMetrics mode renames counters in place (it strips
// `_total` from the metric object's name), so a registry shared between the
// two formats would print counters without `_total` in the text format after
// the first OpenMetrics scrape. A registry that only ever renders one format
// is stable. No metric name starts with `istio_`: Istio's metrics merging
// would clash with the sidecar's own.

import { collectDefaultMetrics, Registry, type Metric } from 'prom-client'
import { C, HOP_BUCKETS, readCounter, readStatus, STATUS_MAX, STATUS_MIN, type Views } from '../shared/layout.js'
import type { ConnectionFigures } from './connection-guard.js'
import { MESH_MODES, type MeshView } from './mesh-facts.js'
import type { HistogramPool } from './pool.js'

export interface MetricsContext {
  stats: {
    views: Views
    /** The mesh detector's last decision: the mode, and the sidecar's memory when its Envoy admin answers. */
    mesh: () => Pick<MeshView, 'mode' | 'sidecarMemory'>
  }
  pool: HistogramPool
  /** `le` boundaries in whole µs, ascending. */
  bucketsUs: readonly number[]
  /** Open and refused connections, refused requests. */
  connections?: () => ConnectionFigures
}

type Format = 'text' | 'openmetrics'

const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']

interface Sample { value: number, labels?: Record<string, string>, metricName?: string }

/** True when an Accept header prefers OpenMetrics to the text format (Prometheus 2.x asks this way). */
export function wantsOpenMetrics (accept: string | undefined): boolean {
  if (accept === undefined) return false
  let om = 0
  let text = 0
  for (const entry of accept.split(',', 32)) {
    const [type = '', ...params] = entry.split(';').map((s) => s.trim().toLowerCase())
    const qParam = params.find((p) => p.startsWith('q='))
    const q = qParam === undefined ? 1 : Number(qParam.slice(2))
    if (!(q >= 0)) continue
    if (type === 'application/openmetrics-text') om = Math.max(om, q)
    else if (type === 'text/plain' || type === '*/*' || type === 'text/*') text = Math.max(text, q)
  }
  return om > 0 && om >= text
}

export class MetricsExporter {
  readonly #ctx: MetricsContext
  readonly #le: string[]
  readonly #registries = new Map<Format, Registry<any>>()

  constructor (ctx: MetricsContext) {
    this.#ctx = ctx
    this.#le = ctx.bucketsUs.map((us) => String(us / 1e6))
  }

  async render (accept: string | undefined): Promise<{ contentType: string, body: string }> {
    const registry = this.#registry(wantsOpenMetrics(accept) ? 'openmetrics' : 'text')
    const body = await registry.metrics()
    return { contentType: registry.contentType, body }
  }

  #registry (format: Format): Registry<any> {
    let registry = this.#registries.get(format)
    if (registry === undefined) {
      registry = new Registry()
      registry.setContentType(format === 'openmetrics' ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE)
      collectDefaultMetrics({ register: registry })
      // Gauges named *_total fail promtool's lint (and confuse rate()); the
      // per-type gauges nodejs_active_handles{type} and the like stay: sum them.
      for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name)
      this.#addOwn(registry)
      this.#registries.set(format, registry)
    }
    return registry
  }

  #addOwn (registry: Registry<any>): void {
    const { stats, pool, bucketsUs } = this.#ctx
    const v = stats.views
    const n = (i: number): number => readCounter(v, i)
    const own = (name: string, help: string, type: 'counter' | 'gauge' | 'histogram', collect: () => Sample[] | Promise<Sample[]>): void => {
      // prom-client reads name, help and type and calls get(); in OpenMetrics
      // mode it may rename a counter, hence `m.name` read at each get().
      const m = {
        name,
        help,
        type,
        aggregator: 'sum',
        get: async () => ({ name: m.name, help, type, aggregator: 'sum', values: await collect() }),
        reset: () => {}
      }
      registry.registerMetric(m as unknown as Metric)
    }

    own('podmeter_request_duration_seconds', 'Service time of measured requests, from the request event until the response was handed to the socket; buckets derived exactly from the HDR histogram (a sample on a boundary counts in that bucket)', 'histogram', async () => {
      const b = await pool.buckets(bucketsUs as number[])
      const samples: Sample[] = b.cumulative.map((value, i) => ({ metricName: 'podmeter_request_duration_seconds_bucket', labels: { le: this.#le[i] as string }, value }))
      samples.push(
        { metricName: 'podmeter_request_duration_seconds_bucket', labels: { le: '+Inf' }, value: b.count },
        { metricName: 'podmeter_request_duration_seconds_sum', value: b.sumUs / 1e6 },
        { metricName: 'podmeter_request_duration_seconds_count', value: b.count }
      )
      return samples
    })
    own('podmeter_requests_total', 'Measured requests that ended, by status code (code="aborted": the client went away first)', 'counter', () => {
      const samples: Sample[] = []
      for (let code = STATUS_MIN; code <= STATUS_MAX; code++) {
        const value = readStatus(v, code)
        if (value > 0) samples.push({ labels: { code: String(code) }, value })
      }
      samples.push({ labels: { code: 'aborted' }, value: n(C.ABORTED) })
      return samples
    })
    own('podmeter_samples_dropped_total', 'Latency samples lost because the ring between the threads was full (the request is still counted)', 'counter', () => [{ value: n(C.SAMPLES_DROPPED) }])
    own('podmeter_samples_clamped_total', 'Latency samples outside the histogram range, recorded at its edge', 'counter', () => [{ value: n(C.SAMPLES_CLAMPED) }])
    own('podmeter_unmeasured_requests_total', 'Requests not measured: probes, /stats, /metrics, health checks, bad queries', 'counter', () => [{ value: n(C.UNMEASURED) }])
    own('podmeter_requests_via_proxy_total', 'Measured requests that crossed at least one proxy or mesh hop', 'counter', () => [{ value: n(C.VIA_PROXY) }])
    own('podmeter_proxy_hops_total', 'Proxy hops of measured requests (X-Forwarded-For and Via entries), summed', 'counter', () => [{ value: n(C.PROXY_HOPS) }])
    own('podmeter_mesh_hops_total', 'Envoys on the path of measured requests, from their markers, summed; where they run is podmeter_mesh_info\'s mode (docs/mesh.md, "Hops and the mode")', 'counter', () => [{ value: n(C.MESH_HOPS) }])
    own('podmeter_requests_by_hops_total', 'Measured requests by the number of hops they crossed', 'counter', () =>
      Array.from({ length: HOP_BUCKETS }, (_, i) => ({ labels: { hops: i === HOP_BUCKETS - 1 ? `${i}+` : String(i) }, value: n(C.HOPS_BY_COUNT + i) })))
    own('podmeter_requests_with_envoy_headers_total', 'Measured requests with Envoy-made headers (x-request-id with x-envoy-* or x-forwarded-client-cert)', 'counter', () => [{ value: n(C.ENVOY_MADE) }])
    own('podmeter_requests_with_tracing_headers_total', 'Measured requests with tracing headers (x-b3-*, b3, traceparent); not hops', 'counter', () => [{ value: n(C.TRACED) }])
    own('podmeter_worker_restarts_total', 'Times the histogram worker was replaced', 'counter', () => [{ value: Math.max(0, n(C.WORKER_STARTS) - 1) }])
    const conn = this.#ctx.connections
    if (conn !== undefined) {
      own('podmeter_connections_open', 'Open connections', 'gauge', () => [{ value: conn().connections_open }])
      own('podmeter_connections_rejected_total', 'Connections closed as soon as accepted because MAX_CONNECTIONS were open', 'counter', () => [{ value: conn().connections_rejected }])
      own('podmeter_requests_refused_total', 'Requests refused before a handler saw them (malformed, headers too large, too slow, CONNECT, Expect), by status code', 'counter', () =>
        Object.entries(conn().requests_refused).map(([code, value]) => ({ labels: { code }, value })))
    }
    own('podmeter_mesh_info', `The Istio data plane this pod is in, as far as facts show: ${MESH_MODES.join(', ')} (docs/mesh.md)`, 'gauge', () => [{ labels: { mode: stats.mesh().mode }, value: 1 }])
    own('podmeter_sidecar_memory_bytes', 'Memory the sidecar\'s Envoy holds from the OS (its /memory heap_size), when its admin answers', 'gauge', () => {
      const memory = stats.mesh().sidecarMemory
      return memory === undefined ? [] : [{ value: memory.heapSize }]
    })
  }
}
