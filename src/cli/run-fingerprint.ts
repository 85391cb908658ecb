// What a load run ran on, recorded in every result as `fingerprint`: the
// client (PodMeter and Node versions), the target and what its /stats said
// of itself (mesh mode and evidence, Istio version and revision, proxy
// concurrency, its node), and the load's shape (payload, connections, rate,
// closed or open loop). `compare` holds the fields that change the answer
// equal across targets (fingerprint.ts); the rest says what was compared.
//
// The target's /stats is any server's answer: what is kept of it here is
// checked for shape and bounded, never echoed as it came.

import { podmeterVersion } from './version.js'
import type { LoadResult, Placement, TargetStats } from './result.js'

export interface Fingerprint {
  /** The client's PodMeter (package.json), null if unknown. */
  podmeter_version: string | null
  /** The client's Node.js (`process.version`). */
  node_version: string
  /** The URL loaded. */
  target: string
  /** The target's /stats `service_mesh_mode` and `mesh_evidence`, null without /stats. */
  mode: string | null
  mode_evidence: string[] | null
  /** The target's /stats `istio_version`, `istio_revision`, `proxy_concurrency`: null where not visible. */
  istio_version: string | null
  istio_revision: string | null
  proxy_concurrency: number | null
  client_node: string | null
  server_node: string | null
  placement: Placement
  /** The method and the body of every request, bytes (a TCP run: TCP and its message size). */
  payload: { method: string, request_body_bytes: number }
  /** Connections of the load (-c). */
  connections: number
  /** The requested rate of an open loop (--qps, --rate), req/s; null in closed loop. */
  rate: number | null
  load_kind: 'closed' | 'open'
}

/** The keys of Fingerprint, in order. */
export const FINGERPRINT_KEYS = ['podmeter_version', 'node_version', 'target', 'mode', 'mode_evidence', 'istio_version', 'istio_revision', 'proxy_concurrency', 'client_node', 'server_node', 'placement', 'payload', 'connections', 'rate', 'load_kind'] as const

export function fingerprintOf (r: Omit<LoadResult, 'fingerprint'>): Fingerprint {
  const t = r.target_stats
  return {
    podmeter_version: podmeterVersion(),
    node_version: process.version,
    target: r.url,
    mode: t?.service_mesh_mode ?? null,
    mode_evidence: t?.mesh_evidence ?? null,
    istio_version: t?.istio_version ?? null,
    istio_revision: t?.istio_revision ?? null,
    proxy_concurrency: t?.proxy_concurrency ?? null,
    client_node: r.client_node,
    server_node: r.server_node,
    placement: r.placement,
    payload: { method: r.payload.method, request_body_bytes: r.payload.request_body_bytes },
    connections: r.connections,
    rate: r.mode === 'open' ? r.requested_rate : null,
    load_kind: r.mode
  }
}

const VERSION = /^\d{1,4}\.\d{1,4}[\w.+-]{0,60}$/
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/
const MODE = /^[a-z0-9-]{1,32}$/
const MAX_EVIDENCE = 32
const MAX_EVIDENCE_CHARS = 500

/**
 * The mesh facts of a /stats document, as TargetStats keeps them: each in
 * its shape or null (absent when /stats has no such key, an older PodMeter).
 * Evidence lines are strings without control characters, at most 32 of at
 * most 500 characters.
 */
export function meshFactsOf (doc: Record<string, unknown>): Pick<TargetStats, 'service_mesh_mode' | 'mesh_evidence' | 'istio_version' | 'istio_revision' | 'proxy_concurrency' | 'envoy_version'> {
  const out: Pick<TargetStats, 'service_mesh_mode' | 'mesh_evidence' | 'istio_version' | 'istio_revision' | 'proxy_concurrency' | 'envoy_version'> = {}
  const text = (key: string, re: RegExp): string | null | undefined => {
    if (!(key in doc)) return undefined
    const v = doc[key]
    return typeof v === 'string' && re.test(v) ? v : null
  }
  const set = <K extends keyof typeof out>(key: K, value: (typeof out)[K] | undefined): void => { if (value !== undefined) out[key] = value }
  set('service_mesh_mode', text('service_mesh_mode', MODE))
  set('istio_version', text('istio_version', VERSION))
  set('istio_revision', text('istio_revision', LABEL_VALUE))
  set('envoy_version', text('envoy_version', VERSION))
  if ('proxy_concurrency' in doc) {
    const n = doc.proxy_concurrency
    out.proxy_concurrency = typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 1024 ? n : null
  }
  if ('mesh_evidence' in doc) {
    const e = doc.mesh_evidence
    // eslint-disable-next-line no-control-regex
    const clean = (s: unknown): s is string => typeof s === 'string' && s.length <= MAX_EVIDENCE_CHARS && !/[\u0000-\u001f\u007f]/.test(s)
    out.mesh_evidence = Array.isArray(e) && e.length <= MAX_EVIDENCE && e.every(clean) ? e : null
  }
  return out
}
