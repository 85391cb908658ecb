// The /stats document: the worker's snapshot (percentiles, already computed
// off this thread) plus counters and runtime figures. Every key of the Go
// original keeps its name and unit; latency is float milliseconds with
// microsecond resolution, null when there is no sample to speak of.

import os from 'node:os'
import { usToMs } from '../shared/duration.js'
import { C, HOP_BUCKETS, read, readCounter, readStatusClass, type Views } from '../shared/layout.js'
import type { Summary } from '../shared/hdr.js'
import type { ListenerSnapshot, Range, Snapshot } from '../shared/protocol.js'
import type { ConnectionFigures } from './connection-guard.js'
import type { EnvoyMemory } from './envoy-admin.js'
import { meshHops, proxyHops } from './headers.js'
import type { MeshView } from './mesh-facts.js'
import { percentileKey } from './stats-query.js'
import { requestBytes, responseBytes } from './status-bodies.js'
import type { ContainerMemory } from './container-memory.js'
import { cachedFor, disk, host, toMiB, type RuntimeMonitor } from './runtime.js'
import type { TcpEchoFigures } from './tcp-echo-stats.js'

export { STATS_PERCENTILES } from './stats-query.js'

// Syscalls, refreshed at most once a second.
const diskRecent = cachedFor(1000, () => disk())
const hostMemory = cachedFor(1000, () => ({ total: os.totalmem(), free: os.freemem() }))

export interface StatsContext {
  views: Views
  runtime: RuntimeMonitor
  windowSeconds: number
  /** performance.now() of the last reset (or start). */
  since: number
  workerThreads: number
  /** The mesh detector's last decision (made in the background). */
  mesh: () => MeshView
  /** The container's cgroup memory (none outside a container), refreshed at most once a second. */
  containerMemory: () => ContainerMemory
  /** Open and refused connections, refused requests (the server's ConnectionGuard). */
  connections?: ConnectionFigures
  /** The baseline listener's counters and port, null without one. */
  baseline: { views: Views, port: number } | null
  /** The TCP echo listener's figures (TCP_ECHO_PORT), null or absent without one. */
  tcpEcho?: TcpEchoFigures | null
}

const ms = (us: number | null | undefined): number | null => (us === null || us === undefined ? null : usToMs(us))
const round = (n: number, digits: number): number => Number(n.toFixed(digits))

type Figure = 'p50' | 'p90' | 'p95' | 'p99' | 'p999' | 'min' | 'max' | 'avg'

/**
 * A summary's latency in ms, each key `<figure>_<suffix>`: `p50_ms` in a
 * window, `p50_latency_ms` over the lifetime (the original's names).
 */
export function latency<S extends string> (s: Summary, suffix: S): Record<`${Figure}_${S}`, number | null> {
  const figures: Record<Figure, number | null> = {
    p50: ms(s.percentiles['50']),
    p90: ms(s.percentiles['90']),
    p95: ms(s.percentiles['95']),
    p99: ms(s.percentiles['99']),
    p999: ms(s.percentiles['99.9']),
    min: ms(s.min),
    max: ms(s.max),
    avg: s.mean === null ? null : round(s.mean / 1000, 4)
  }
  return Object.fromEntries(Object.entries(figures).map(([k, v]) => [`${k}_${suffix}`, v])) as Record<`${Figure}_${S}`, number | null>
}

const mib = (bytes: number): number => round(toMiB(bytes), 3)
function sidecarMemory (m: EnvoyMemory): Record<string, number> {
  const out: Record<string, number> = { allocated: mib(m.allocated), heap_size: mib(m.heapSize) }
  if (m.physical !== undefined) out.physical = mib(m.physical)
  return out
}

/**
 * The `percentiles` object of `?percentiles=` (keys `p50`, `p99_99`, values
 * in ms), with the range it covers (`lifetime` or seconds) and its samples.
 */
export function extraPercentiles (extra: Summary, asked: readonly number[], range: Range): Record<string, unknown> {
  const percentiles: Record<string, number | null> = {}
  for (const p of asked) percentiles[percentileKey(p)] = ms(extra.percentiles[String(p)])
  return { percentiles, percentiles_window: range, percentiles_samples: extra.count }
}

/**
 * The counters /stats gives a rate of, in the order RuntimeMonitor keeps
 * them: each listener's requests, request bytes and response bytes (the
 * baseline's 0 without one).
 */
export function rateFigures (main: Views, baseline: Views | null): number[] {
  const figures = (v: Views | null): number[] => v === null ? [0, 0, 0] : [readCounter(v, C.REQUESTS), requestBytes(v), responseBytes(v)]
  return [...figures(main), ...figures(baseline)]
}

/** Each listener's rates, from RuntimeMonitor.window() over rateFigures(). */
interface Rates { seconds: number, perSecond: number, requestBytesPerSecond: number, responseBytesPerSecond: number }

/** One listener's request, latency and hop figures, under the original's key names. */
function listenerFigures (v: Views, snap: ListenerSnapshot, win: Rates, sinceReset: number) {
  const n = (i: number): number => readCounter(v, i)
  const requests = n(C.REQUESTS)
  const errors = n(C.ERRORS)
  const life = snap.lifetime
  const hopSum = n(C.PROXY_HOPS) + n(C.MESH_HOPS)
  const hopsByCount: Record<string, number> = {}
  for (let i = 0; i < HOP_BUCKETS; i++) hopsByCount[i === HOP_BUCKETS - 1 ? `${i}+` : String(i)] = n(C.HOPS_BY_COUNT + i)
  return {
    requests,
    errors,
    requests_per_second: round(win.perSecond, 3),
    success_rate_percent: requests > 0 ? round(((requests - errors) / requests) * 100, 4) : null,
    ...latency(life, 'latency_ms'),
    samples: life.count,
    samples_dropped: n(C.SAMPLES_DROPPED),
    samples_clamped: n(C.SAMPLES_CLAMPED),
    avg_requests_per_second: round(requests / sinceReset, 3),
    request_bytes: requestBytes(v),
    response_bytes: responseBytes(v),
    request_bytes_per_second: round(win.requestBytesPerSecond, 3),
    response_bytes_per_second: round(win.responseBytesPerSecond, 3),
    window: {
      seconds: round(win.seconds, 3),
      requests_per_second: round(win.perSecond, 3),
      request_bytes_per_second: round(win.requestBytesPerSecond, 3),
      response_bytes_per_second: round(win.responseBytesPerSecond, 3),
      samples: snap.current.count,
      ...latency(snap.current, 'ms')
    },
    status_codes: {
      '1xx': 0,
      '2xx': readStatusClass(v, 200),
      '3xx': readStatusClass(v, 300),
      '4xx': readStatusClass(v, 400),
      '5xx': readStatusClass(v, 500),
      aborted: n(C.ABORTED)
    },
    avg_proxy_hops: requests > 0 ? round(hopSum / requests, 4) : 0,
    requests_via_proxy: n(C.VIA_PROXY),
    requests_by_hop_count: hopsByCount,
    requests_with_envoy_headers: n(C.ENVOY_MADE),
    requests_with_tracing_headers: n(C.TRACED),
    unmeasured_requests: n(C.UNMEASURED)
  }
}

/**
 * `scan` is scanHeaders() of the /stats request itself (its own hop counts);
 * `asked` is the ?percentiles= list in its order and `range` its ?window=,
 * when the snapshot has them.
 */
export function buildStats (ctx: StatsContext, snap: Snapshot, scan: number, asked: readonly number[] = [], range: Range = 'lifetime'): Record<string, unknown> {
  const v = ctx.views
  const n = (i: number): number => readCounter(v, i)
  const now = performance.now()
  const sinceReset = Math.max(now - ctx.since, 1) / 1000
  const base = ctx.baseline
  const win = ctx.runtime.window(ctx.windowSeconds, rateFigures(v, base?.views ?? null))
  const rates = (at: number): Rates => ({
    seconds: win.seconds,
    perSecond: win.perSecond[at] ?? 0,
    requestBytesPerSecond: win.perSecond[at + 1] ?? 0,
    responseBytesPerSecond: win.perSecond[at + 2] ?? 0
  })
  const t = listenerFigures(v, snap, rates(0), sinceReset)
  const mem = process.memoryUsage()
  const gc = ctx.runtime.gc()
  const cpu = process.cpuUsage()
  const container = ctx.containerMemory()
  const d = diskRecent()
  const totalMem = container.limit ?? hostMemory().total
  const availableMem = container.limit !== undefined && container.workingSet !== undefined
    ? Math.max(0, container.limit - container.workingSet)
    : hostMemory().free
  const mesh = ctx.mesh()
  // A probe's /stats (scan = -1) crossed nothing we can count.
  const ownProxy = scan < 0 ? 0 : proxyHops(scan)
  const ownMesh = scan < 0 ? 0 : meshHops(scan)

  return {
    // The original's keys, same names and units.
    requests: t.requests,
    errors: t.errors,
    requests_per_second: t.requests_per_second,
    success_rate_percent: t.success_rate_percent,
    avg_latency_ms: t.avg_latency_ms,
    p50_latency_ms: t.p50_latency_ms,
    p95_latency_ms: t.p95_latency_ms,
    p99_latency_ms: t.p99_latency_ms,
    p999_latency_ms: t.p999_latency_ms,
    min_latency_ms: t.min_latency_ms,
    max_latency_ms: t.max_latency_ms,
    memory_heap_mb: round(toMiB(mem.heapUsed), 3),
    memory_sys_mb: round(toMiB(mem.rss), 3),
    // Node keeps no count of bytes allocated; the one way to build it
    // (v8.GCProfiler) leaks native memory per GC, so the key says unknown.
    memory_total_alloc_mb: null,
    goroutines: process.getActiveResourcesInfo().length,
    gc_pause_ms: round(gc.lastPauseMs, 4),
    num_gc: gc.count,
    // Whole seconds, as the original's int64 (a Go client cannot decode 9.113
    // into it); uptime_ms below carries the precision.
    uptime_seconds: Math.floor(process.uptime()),
    avg_proxy_hops: t.avg_proxy_hops,
    proxy_detected: t.requests_via_proxy > 0,
    istio_sidecar_detected: mesh.sidecar,
    requests_via_proxy: t.requests_via_proxy,
    service_mesh_mode: mesh.mode,
    proxy_hop_count: ownProxy,
    service_mesh_hops: ownMesh,
    total_hop_count: ownProxy + ownMesh,
    // Deprecated in the original, kept for its clients: the same sum.
    current_hop_count: ownProxy + ownMesh,
    hostname: host.hostname,
    os: host.os,
    architecture: host.architecture,
    num_cpu: host.numCpu,
    kernel_version: host.kernelVersion,
    total_memory_mb: round(toMiB(totalMem), 3),
    available_memory_mb: round(toMiB(availableMem), 3),
    total_disk_gb: d === undefined ? null : round(d.totalGb, 3),
    available_disk_gb: d === undefined ? null : round(d.availableGb, 3),
    disk_usage_percent: d === undefined ? null : round(d.usagePercent, 2),
    // New keys.
    uptime_ms: round(process.uptime() * 1000, 3),
    node_name: host.nodeName,
    pod_namespace: host.podNamespace,
    p90_latency_ms: t.p90_latency_ms,
    samples: t.samples,
    samples_dropped: t.samples_dropped,
    samples_clamped: t.samples_clamped,
    avg_requests_per_second: t.avg_requests_per_second,
    request_bytes: t.request_bytes,
    response_bytes: t.response_bytes,
    request_bytes_per_second: t.request_bytes_per_second,
    response_bytes_per_second: t.response_bytes_per_second,
    window: t.window,
    status_codes: t.status_codes,
    requests_by_hop_count: t.requests_by_hop_count,
    requests_with_envoy_headers: t.requests_with_envoy_headers,
    requests_with_tracing_headers: t.requests_with_tracing_headers,
    mesh_evidence: mesh.evidence,
    waypoint_proxy_detected: mesh.waypoint,
    unmeasured_requests: t.unmeasured_requests,
    event_loop_utilization: round(win.elu, 4),
    event_loop_delay_p99_ms: round(ctx.runtime.loopDelayP99Ms(), 3),
    cpu_user_seconds: round(cpu.user / 1e6, 3),
    cpu_system_seconds: round(cpu.system / 1e6, 3),
    gc_pause_total_ms: round(gc.totalPauseMs, 3),
    threads: ctx.views.shards.length + ctx.workerThreads,
    // HTTP_THREADS: the measured requests each thread served (the main thread first).
    requests_by_http_thread: ctx.views.shards.map((shard) => read(shard.counters, C.REQUESTS)),
    worker_restarts: Math.max(0, n(C.WORKER_STARTS) - 1),
    // Only inside a container (container-memory.ts); a source only for a limit actually set.
    memory_limit_source: container.limit === undefined ? null : container.source ?? null,
    container_memory_working_set_mb: container.workingSet === undefined ? null : round(toMiB(container.workingSet), 3),
    container_memory_limit_mb: container.limit === undefined ? null : round(toMiB(container.limit), 3),
    container_memory_note: container.note,
    ...(mesh.sidecarMemory === undefined ? {} : { sidecar_memory_mb: sidecarMemory(mesh.sidecarMemory) }),
    // What Istio runs here, where the pod shows it (mesh-facts.ts istioView); null where nothing does.
    istio_version: mesh.istio.version,
    istio_revision: mesh.istio.revision,
    proxy_concurrency: mesh.istio.proxyConcurrency,
    envoy_version: mesh.istio.envoyVersion,
    measured_since_seconds: round(sinceReset, 3),
    ...ctx.connections,
    // The baseline listener (BASELINE_PORT): the same figures for its own traffic.
    baseline: base === null || snap.baseline === null
      ? null
      : { port: base.port, ...listenerFigures(base.views, snap.baseline, rates(3), sinceReset) },
    // The TCP echo (TCP_ECHO_PORT): its connections, messages, bytes and echo time.
    tcp_echo: ctx.tcpEcho == null || snap.tcpEcho == null ? null : ctx.tcpEcho.json(snap.tcpEcho, sinceReset),
    ...(snap.extra === undefined ? {} : extraPercentiles(snap.extra, asked, range))
  }
}
