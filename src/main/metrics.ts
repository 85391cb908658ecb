// GET /metrics: prom-client's default process and Node.js metrics plus
// PodMeter's own, all read at scrape time: counters from the shared buffer,
// the latency histogram's `le` buckets from the worker (cumulative HDR counts
// at each boundary, see cumulativeAt in src/shared/hdr.ts) and, in the
// protobuf format, its native buckets. Nothing happens per request.
//
// Two registries, each made on first use: one for the text and protobuf
// formats, one for OpenMetrics. prom-client's Registry.metrics() in
// OpenMetrics mode renames counters in place (it strips `_total` from the
// metric object's name), so a registry shared with it would print counters
// without `_total` in the text format after the first OpenMetrics scrape.
// The protobuf format reads the text registry's samples
// (getMetricsAsJSON), so its values are the text format's. No metric name starts with `istio_`: Istio's metrics merging
// would clash with the sidecar's own.
//
// This module (prom-client with it) is loaded on the first scrape
// (routes.ts), the protobuf encoder on the first protobuf scrape: a pod that
// is never scraped, or only in text, does not keep them in memory
// (docs/operations.md, "Memory").

import { collectDefaultMetrics, Registry, type Metric } from 'prom-client'
import { C, HOP_BUCKETS, readCounter, readStatus, STATUS_MAX, STATUS_MIN, type Views } from '../shared/layout.js'
import type { NativeBuckets } from '../shared/native-histogram.js'
import type { ConnectionFigures } from './connection-guard.js'
import { EVENT_LOOP_DELAY_NAMES, EventLoopDelay } from './event-loop-delay.js'
import { negotiate } from './metrics-format.js'
import type { JsonMetric } from './metrics-proto.js'
import { MESH_MODES, type MeshView } from './mesh-facts.js'
import { requestBytes, responseBytes } from './status-bodies.js'
import type { HistogramPool } from './pool.js'
import { addTcpEchoMetrics } from './tcp-echo-metrics.js'
import type { TcpEchoFigures } from './tcp-echo-stats.js'

export interface MetricsContext {
  stats: {
    views: Views
    /** The mesh detector's last decision: the mode, and the sidecar's memory when its Envoy admin answers. */
    mesh: () => Pick<MeshView, 'mode' | 'sidecarMemory'>
    /** The TCP echo's figures (TCP_ECHO_PORT): its own podmeter_tcp_echo_* series. */
    tcpEcho?: TcpEchoFigures | null
  }
  pool: HistogramPool
  /** `le` boundaries in whole µs, ascending. */
  bucketsUs: readonly number[]
  /** Schema of the native histogram in the protobuf exposition (src/shared/native-histogram.ts). */
  nativeSchema: number
  /** METRICS_PROTOBUF: false never answers protobuf. */
  protobuf?: boolean
  /** Open and refused connections, refused requests. */
  connections?: () => ConnectionFigures
}

const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']

export interface Sample { value: number, labels?: Record<string, string>, metricName?: string }
interface Collected { values: Sample[], native?: NativeBuckets }
/** Adds a metric to the registry being built (register(), bound to it). */
export type Own = (name: string, help: string, type: 'counter' | 'gauge' | 'histogram', collect: () => Sample[] | Collected | Promise<Sample[] | Collected>) => void

export class MetricsExporter {
  readonly #ctx: MetricsContext
  readonly #le: string[]
  /** Text and protobuf share one registry (the same values in both); OpenMetrics has its own. */
  readonly #registries = new Map<'text' | 'openmetrics', Registry<any>>()

  constructor (ctx: MetricsContext) {
    this.#ctx = ctx
    this.#le = ctx.bucketsUs.map((us) => String(us / 1e6))
  }

  async render (accept: string | undefined): Promise<{ contentType: string, body: string | Buffer }> {
    const format = negotiate(accept, this.#ctx.protobuf ?? true)
    const registry = this.#registry(format === 'openmetrics' ? 'openmetrics' : 'text')
    if (format === 'protobuf') {
      // @bufbuild/protobuf and the generated messages load on the first
      // protobuf scrape: a scraper of the text formats never needs them.
      const { encodeFamilies, PROTOBUF_CONTENT_TYPE } = await import('./metrics-proto.js')
      return { contentType: PROTOBUF_CONTENT_TYPE, body: encodeFamilies(await registry.getMetricsAsJSON() as unknown as JsonMetric[]) }
    }
    return { contentType: registry.contentType, body: await registry.metrics() }
  }

  #registry (format: 'text' | 'openmetrics'): Registry<any> {
    let registry = this.#registries.get(format)
    if (registry === undefined) {
      registry = new Registry()
      registry.setContentType(format === 'openmetrics' ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE)
      collectDefaultMetrics({ register: registry })
      // Gauges named *_total fail promtool's lint (and confuse rate()); the
      // per-type gauges nodejs_active_handles{type} and the like stay: sum them.
      for (const name of [...LINT_FAILING_DEFAULTS, ...EVENT_LOOP_DELAY_NAMES]) registry.removeSingleMetric(name)
      this.#addEventLoopDelay(registry)
      this.#addOwn(registry)
      this.#registries.set(format, registry)
    }
    return registry
  }

  #addEventLoopDelay (registry: Registry<any>): void {
    const delay = new EventLoopDelay()
    for (const [i, name] of EVENT_LOOP_DELAY_NAMES.entries()) {
      // The first of them, asked first in each scrape, ends the interval the others report.
      register(registry, name, `The event loop delay's ${name.split('_')[3] as string} over what was sampled since the previous scrape; absent when nothing was`, 'gauge', () => {
        if (i === 0) delay.take()
        const value = delay.value(name)
        return value === undefined ? [] : [{ value }]
      })
    }
  }

  #addOwn (registry: Registry<any>): void {
    const { stats, pool, bucketsUs, nativeSchema } = this.#ctx
    const v = stats.views
    const n = (i: number): number => readCounter(v, i)
    const own = register.bind(null, registry)

    own('podmeter_request_duration_seconds', 'Service time of measured requests, from the request event until the response was handed to the socket; buckets derived exactly from the HDR histogram (a sample on a boundary counts in that bucket), native buckets in the protobuf format', 'histogram', async () => {
      const b = await pool.buckets(bucketsUs as number[], nativeSchema)
      const values: Sample[] = b.cumulative.map((value, i) => ({ metricName: 'podmeter_request_duration_seconds_bucket', labels: { le: this.#le[i] as string }, value }))
      values.push(
        { metricName: 'podmeter_request_duration_seconds_bucket', labels: { le: '+Inf' }, value: b.count },
        { metricName: 'podmeter_request_duration_seconds_sum', value: b.sumUs / 1e6 },
        { metricName: 'podmeter_request_duration_seconds_count', value: b.count }
      )
      return b.native === undefined ? { values } : { values, native: b.native }
    })
    own('podmeter_requests_total', 'Measured requests answered, by HTTP status code (those whose client went away first are podmeter_requests_aborted_total)', 'counter', () => {
      const samples: Sample[] = []
      for (let code = STATUS_MIN; code <= STATUS_MAX; code++) {
        const value = readStatus(v, code)
        if (value > 0) samples.push({ labels: { code: String(code) }, value })
      }
      return samples
    })
    own('podmeter_requests_aborted_total', 'Measured requests whose client went away before the response was delivered (no status code, no latency sample)', 'counter', () => [{ value: n(C.ABORTED) }])
    own('podmeter_request_bytes_total', 'Request body bytes read by measured requests (POST and PUT to /), aborted ones included', 'counter', () => [{ value: requestBytes(v) }])
    own('podmeter_response_bytes_total', 'Response body bytes of measured requests answered (headers not included)', 'counter', () => [{ value: responseBytes(v) }])
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
    if (stats.tcpEcho != null) addTcpEchoMetrics(own, stats.tcpEcho, pool, bucketsUs, this.#le, nativeSchema)
  }
}

/**
 * Adds a metric whose samples `collect` gives at each scrape. prom-client
 * reads name, help and type and calls get(); in OpenMetrics mode it may
 * rename a counter, hence `m.name` read at each get(). What get() returns
 * reaches getMetricsAsJSON() as it is, `native` included.
 */
function register (registry: Registry<any>, name: string, help: string, type: 'counter' | 'gauge' | 'histogram', collect: () => Sample[] | Collected | Promise<Sample[] | Collected>): void {
  const m = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => {
      const got = await collect()
      return { name: m.name, help, type, aggregator: 'sum', ...(Array.isArray(got) ? { values: got } : got) }
    },
    reset: () => {}
  }
  registry.registerMetric(m as unknown as Metric)
}
