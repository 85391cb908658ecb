// The result of one load run as a JSON document (`podmeter load -o`), and
// reading such documents back for `compare` and `merge`. Latency is in ms
// with µs resolution; the histograms are HdrHistogram's compressed base64
// of integer µs, so runs can be added exactly later.

import type { LoadRun } from './engine.js'
import { getText } from './get-text.js'
import { encode, summarizeMs, type MsSummary } from '../shared/hdr.js'
import type { Track } from './recorder.js'
import { isDnsLabel, isNodeName } from '../shared/node-name.js'
import { type Cost, NOT_ASKED } from './cost/collect.js'
import { type Fingerprint, fingerprintOf, meshFactsOf } from './run-fingerprint.js'

export const RESULT_KIND = 'podmeter-load-result'
export const RESULT_VERSION = 1

/** The target's own figures from its /stats, read after the run; any may be null or missing. */
export interface TargetStats {
  memory_sys_mb?: number | null
  container_memory_working_set_mb?: number | null
  sidecar_memory_mb?: number | null
  service_mesh_mode?: string | null
  /** The target process: `<hostname>@<start time, ISO seconds>`, from /stats' hostname and uptime_ms (uptime_seconds before it). */
  process_id?: string | null
  /** The Kubernetes node of the replica whose /stats answered (its NODE_NAME). */
  node_name?: string | null
  /** The replica's Kubernetes namespace (its POD_NAMESPACE), and its pod name (its hostname), for the cost queries. */
  pod_namespace?: string | null
  pod_name?: string | null
  /** What /stats says of the mesh (docs/stats.md), each checked for shape (run-fingerprint.ts meshFactsOf). */
  mesh_evidence?: string[] | null
  istio_version?: string | null
  istio_revision?: string | null
  proxy_concurrency?: number | null
  envoy_version?: string | null
}
export const TARGET_STAT_KEYS = ['memory_sys_mb', 'container_memory_working_set_mb', 'sidecar_memory_mb', 'service_mesh_mode', 'node_name', 'pod_namespace'] as const

/** What each request carried and each answer brought back: part of what a comparison must hold equal (fingerprint.ts). */
export interface Payload {
  method: string
  /** The body of every request, bytes; 0 without one. */
  request_body_bytes: number
  /** The bodies of the answered measured responses, bytes; null when none was answered. */
  response_body_bytes: { min: number, max: number, mean: number } | null
}

/** Where the client ran against the server: on the same Kubernetes node, on another, or not known (either node name missing). */
export type Placement = 'same-node' | 'cross-node' | 'unknown'

export function placementOf (clientNode: string | null, serverNode: string | null | undefined): Placement {
  if (clientNode === null || serverNode === null || serverNode === undefined) return 'unknown'
  return clientNode === serverNode ? 'same-node' : 'cross-node'
}

export type LatencyName = 'e2e' | 'e2e_uncorrected' | 'server' | 'overhead' | 'client_lag'
export const LATENCY_NAMES: LatencyName[] = ['e2e', 'e2e_uncorrected', 'server', 'overhead', 'client_lag']

/**
 * When an open-loop client kept its schedule: it sent at least this share of
 * the requests that fell due, and its own lag (how late each request left
 * after it was due and a connection was free) stayed at or under
 * SCHEDULE_LAG_P99_US at p99. Waiting for a connection is not the client's
 * delay: a stalled server causes it, and the correction counts it.
 * Node's timers have 1 ms resolution, so up to about 1 ms of lag is the
 * timer's, and a quiet machine here shows p99 1.7–2.3 ms; a CPU hog on the
 * client's core doubles it. Beyond the limit the client itself was behind
 * and its own delay is in the end-to-end figures.
 */
export const SCHEDULE_MIN_SENT = 0.95
export const SCHEDULE_LAG_P99_US = 3000

/** The open loop's schedule as it ran. */
export interface ScheduleResult {
  requested_rate: number
  /** Measured requests due before the measured part ended. */
  due: number
  sent: number
  /** Due but never sent: every slot was busy until the end. */
  missed: number
  /** Measured requests sent per second of the measured part. */
  achieved_rate: number
  /** How late requests were written against their due time, ms (waiting for a connection included). */
  lag_p50_ms: number | null
  lag_p99_ms: number | null
  lag_max_ms: number | null
  /** How late they were written after they were due and a connection was free: the client's own delay, ms. */
  own_lag_p99_ms: number | null
  kept: boolean
}

export interface LoadResult {
  kind: typeof RESULT_KIND
  version: number
  label: string | null
  url: string
  method: string
  /** closed: -c connections as fast as answers come; open: a fixed timetable at requested_rate. */
  mode: 'closed' | 'open'
  connections: number
  pipelining: number
  requested_rate: number | null
  started_at: string
  warmup_seconds: number
  /** From the start of the measured part to its last response. */
  duration_seconds: number
  /** Measured requests sent, answered (any status) and failed without an answer. */
  sent: number
  responses: number
  errors: number
  cancelled: number
  /** Answers per second over duration_seconds. */
  rate: number
  status_codes: Record<string, number>
  error_kinds: { timeout: number, reset: number, refused: number, other: number }
  error_examples: Record<string, string>
  connections_opened: number
  /** Body bytes of the measured requests written, and of their responses (headers not counted), and each per second of duration_seconds. */
  bytes_sent: number
  bytes_received: number
  bytes_sent_per_second: number
  bytes_received_per_second: number
  payload: Payload
  /** The client's node (--client-node, $NODE_NAME) and the server's (its /stats node_name), null when unknown. */
  client_node: string | null
  server_node: string | null
  placement: Placement
  server_timing: { missing: number, overhead_negative: number }
  percentiles: number[]
  /** e2e: end to end (from the scheduled time in open loop); e2e_uncorrected: from the actual send (open loop only). */
  latency_ms: Partial<Record<LatencyName, MsSummary>>
  histograms: Partial<Record<LatencyName, string>>
  target_stats: TargetStats | null
  /** The run was stopped by SIGINT before its planned end. */
  interrupted: boolean
  /** CPU the client used from the first request to the last answer (all its threads; warm-up included), and per request sent. */
  client_cpu: { user_seconds: number, system_seconds: number, us_per_request: number | null }
  /** Open loop: the schedule as it ran; null in closed loop. */
  schedule: ScheduleResult | null
  /** Open loop: whether the client kept its schedule (SCHEDULE_MIN_SENT, SCHEDULE_LAG_P99_US); null in closed loop. */
  schedule_kept: boolean | null
  /** What the app, its sidecar, ztunnel and the waypoint used over the measured window, from Prometheus (cost/collect.ts). */
  cost: Cost
  /** What the run ran on (run-fingerprint.ts); absent in results of an older podmeter. */
  fingerprint: Fingerprint
}

export function buildResult (run: LoadRun, startedAt: Date, targetStats: TargetStats | null, interrupted = false): LoadResult {
  const o = run.options
  const rec = run.rec
  const tracks: Array<[LatencyName, Track]> = [['e2e', rec.e2e], ['server', rec.server], ['overhead', rec.overhead]]
  if (run.open) tracks.splice(1, 0, ['e2e_uncorrected', rec.uncorrected])
  if (run.open) tracks.push(['client_lag', rec.lag])
  const latency: Partial<Record<LatencyName, MsSummary>> = {}
  const histograms: Partial<Record<LatencyName, string>> = {}
  for (const [name, t] of tracks) {
    latency[name] = summarizeMs(t.h, o.percentiles, t.exact)
    histograms[name] = encode(t.h)
  }
  const seconds = Math.max(run.lastEnd - run.measureStart, 0) / 1000
  const fields: Omit<LoadResult, 'fingerprint'> = {
    kind: RESULT_KIND,
    version: RESULT_VERSION,
    label: o.label ?? null,
    url: o.url.href,
    method: o.method,
    mode: run.open ? 'open' : 'closed',
    connections: o.connections,
    pipelining: o.pipelining,
    requested_rate: o.qps ?? null,
    started_at: startedAt.toISOString(),
    warmup_seconds: o.warmupUs / 1e6,
    duration_seconds: Number(seconds.toFixed(4)),
    sent: rec.sent,
    responses: rec.responses,
    errors: rec.errorCount,
    cancelled: run.cancelled,
    rate: seconds > 0 ? Number((rec.responses / seconds).toFixed(2)) : 0,
    status_codes: rec.statusCodes(),
    error_kinds: { ...rec.errors },
    error_examples: { ...rec.examples },
    connections_opened: run.connectionsOpened,
    bytes_sent: rec.bytesSent,
    bytes_received: rec.bytes,
    bytes_sent_per_second: seconds > 0 ? Number((rec.bytesSent / seconds).toFixed(1)) : 0,
    bytes_received_per_second: seconds > 0 ? Number((rec.bytes / seconds).toFixed(1)) : 0,
    payload: {
      method: o.method,
      request_body_bytes: run.bodyBytes,
      response_body_bytes: rec.responses === 0
        ? null
        : { min: rec.minResponseBytes, max: rec.maxResponseBytes, mean: Number((rec.answeredBytes / rec.responses).toFixed(1)) }
    },
    client_node: o.clientNode,
    server_node: targetStats?.node_name ?? null,
    placement: placementOf(o.clientNode, targetStats?.node_name),
    server_timing: { missing: rec.untimed, overhead_negative: rec.negative },
    percentiles: o.percentiles,
    latency_ms: latency,
    histograms,
    target_stats: targetStats,
    interrupted,
    client_cpu: clientCpu(run),
    schedule: null,
    schedule_kept: null,
    cost: NOT_ASKED
  }
  const result: LoadResult = { ...fields, fingerprint: fingerprintOf(fields) }
  if (run.open) {
    const schedule = scheduleResult(run)
    result.schedule = schedule
    result.schedule_kept = schedule.kept
  }
  return result
}

function clientCpu (run: LoadRun): LoadResult['client_cpu'] {
  const requests = run.rec.sent + run.warmupSent
  const us = run.cpu.user + run.cpu.system
  return {
    user_seconds: Number((run.cpu.user / 1e6).toFixed(3)),
    system_seconds: Number((run.cpu.system / 1e6).toFixed(3)),
    us_per_request: requests > 0 ? Number((us / requests).toFixed(1)) : null
  }
}

function scheduleResult (run: LoadRun): ScheduleResult {
  const s = run.schedule ?? { due: 0, missed: 0, spanMs: 0 }
  const sent = run.rec.sent
  const lag = summarizeMs(run.rec.lag.h, [50, 99], run.rec.lag.exact)
  const own = summarizeMs(run.rec.ownLag.h, [99], run.rec.ownLag.exact).percentiles['99'] ?? null
  return {
    requested_rate: run.options.qps as number,
    due: s.due,
    sent,
    missed: s.missed,
    achieved_rate: s.spanMs > 0 ? Number((sent / (s.spanMs / 1000)).toFixed(2)) : 0,
    lag_p50_ms: lag.percentiles['50'] ?? null,
    lag_p99_ms: lag.percentiles['99'] ?? null,
    lag_max_ms: lag.max,
    own_lag_p99_ms: own,
    kept: sent >= SCHEDULE_MIN_SENT * s.due && (own ?? 0) * 1000 <= SCHEDULE_LAG_P99_US
  }
}

/** The memory and mode keys of a target's /stats; null if it cannot be read within a second or two. */
export async function fetchTargetStats (url: string): Promise<TargetStats | null> {
  try {
    const res = await getText(url, 2000)
    if (res.status !== 200) return null
    const doc = JSON.parse(res.text) as Record<string, unknown>
    const out: Record<string, unknown> = {}
    for (const k of TARGET_STAT_KEYS) if (k in doc) out[k] = doc[k]
    // /stats reports Envoy's memory as {allocated, heap_size, physical} in MiB;
    // a comparison shows heap_size, what Envoy holds from the OS (as /metrics does).
    const sidecar = doc.sidecar_memory_mb as { heap_size?: unknown } | null | undefined
    if (sidecar !== null && typeof sidecar === 'object') out.sidecar_memory_mb = typeof sidecar.heap_size === 'number' ? sidecar.heap_size : null
    if (out.node_name !== undefined && out.node_name !== null && (typeof out.node_name !== 'string' || !isNodeName(out.node_name))) out.node_name = null
    if (out.pod_namespace !== undefined && out.pod_namespace !== null && (typeof out.pod_namespace !== 'string' || !isDnsLabel(out.pod_namespace))) out.pod_namespace = null
    Object.assign(out, meshFactsOf(doc))
    // uptime_ms where the server has it: uptime_seconds is whole seconds
    // (as the original's int64), which would move the start time by up to a
    // second between two reads of one process.
    const { hostname, uptime_ms: uptimeMs, uptime_seconds: uptimeSeconds } = doc
    // In Kubernetes a pod's hostname is its name.
    out.pod_name = typeof hostname === 'string' && isNodeName(hostname) ? hostname : null
    const uptime = typeof uptimeMs === 'number' ? uptimeMs : typeof uptimeSeconds === 'number' ? uptimeSeconds * 1000 : undefined
    out.process_id = typeof hostname === 'string' && uptime !== undefined
      ? `${hostname}@${new Date(Math.round((Date.now() - uptime) / 1000) * 1000).toISOString().replace('.000Z', 'Z')}`
      : null
    return out as TargetStats
  } catch {
    return null
  }
}

export function checkResult (doc: unknown, where: string): LoadResult {
  const d = doc as Partial<LoadResult> | null
  if (d === null || typeof d !== 'object' || d.kind !== RESULT_KIND) throw new Error(`${where}: not a podmeter load result (written by podmeter load -o)`)
  if (d.version !== RESULT_VERSION) throw new Error(`${where}: result version ${String(d.version)}, this podmeter reads version ${RESULT_VERSION}`)
  if (typeof d.histograms?.e2e !== 'string' || typeof d.rate !== 'number') throw new Error(`${where}: incomplete load result (no histograms or rate)`)
  return d as LoadResult
}
