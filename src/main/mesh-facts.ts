// Which Istio data plane this pod is in, decided from facts. Pure functions:
// the parsers of the sources and the decision, so that each is tested on
// fixtures. The detector (mesh-detect.ts) reads the sources in the background.
//
// Evidence, strongest first (docs/mesh.md "Mesh detection"):
//   1. the pod's own annotations and labels (Downward API files);
//   2. which Istio ports listen in the pod's network namespace (/proc/net/tcp*);
//   3. Envoy admin answering on 127.0.0.1:15000;
//   4. request headers: Envoy-made headers say an Envoy is on the path, not
//      where it runs. With an ambient fact (1 or 2) and no sidecar they are a
//      waypoint; with no pod fact at all they are only `envoy-on-path`: a
//      gateway or a client's sidecar sends the same. ztunnel adds no HTTP
//      headers, so ambient without a waypoint is only visible through 1 and 2.

import type { EnvoyMemory } from './envoy-admin.js'
import { type EnvoyServerInfo, revisionValue } from './envoy-server-info.js'

/** Every value, in the order docs/mesh.md lists them. */
export const MESH_MODES = ['none', 'envoy-on-path', 'ambient-l4', 'ambient-l7', 'sidecar'] as const
export type MeshMode = typeof MESH_MODES[number]

export interface PodInfo {
  dir: string
  /** False when neither file could be read (no Downward API volume there). */
  found: boolean
  labels: Map<string, string>
  annotations: Map<string, string>
}

export interface Listeners {
  files: readonly string[]
  /** False when none of the files could be read. */
  read: boolean
  ports: Set<number>
}

export interface AdminFacts {
  address: string | undefined
  reachable: boolean
  reason: string
  memory: EnvoyMemory | undefined
  /** Envoy's /server_info, read once the admin answers; undefined before, or when it cannot be read. */
  serverInfo: EnvoyServerInfo | undefined
}

/** Measured requests and those with Envoy-made headers over the last period that had requests. */
export interface HeaderFacts {
  requests: number
  envoyMade: number
  seconds: number
}

export interface MeshFacts {
  podinfo: PodInfo
  listeners: Listeners
  admin: AdminFacts
  headers: HeaderFacts | undefined
}

export interface MeshView {
  mode: MeshMode
  evidence: string[]
  sidecar: boolean
  waypoint: boolean
  /** Envoy-made headers on most recent requests, whatever the mode: some Envoy is on the path. */
  envoyOnPath: boolean
  /** Envoy's /memory when there is a sidecar and its admin answers. */
  sidecarMemory: EnvoyMemory | undefined
  /** What Istio runs here, where the pod shows it (istioView). */
  istio: IstioView
}

/** The Istio release, revision and proxy of the pod, each null where nothing shows it. */
export interface IstioView {
  /** The sidecar's ISTIO_VERSION (Envoy's /server_info node metadata). */
  version: string | null
  /** The pod's `istio.io/rev` (the injector's annotation, else the label), the revision in `sidecar.istio.io/status`, else the sidecar's ISTIO_REVISION. */
  revision: string | null
  /** The sidecar's Envoy worker threads (`--concurrency`). */
  proxyConcurrency: number | null
  /** The sidecar's Envoy release. */
  envoyVersion: string | null
}

/** Istio's ports that may listen inside a pod, and who opens them. */
export const ISTIO_PORTS: ReadonlyMap<number, string> = new Map([
  [15000, 'Envoy admin'],
  [15001, 'outbound capture'],
  [15004, 'pilot-agent debug'],
  [15006, 'inbound capture'],
  [15008, 'HBONE'],
  [15020, 'pilot-agent metrics'],
  [15021, 'sidecar health'],
  [15053, 'DNS proxy'],
  [15090, 'Envoy Prometheus']
])
const SIDECAR_PORTS = [15000, 15090, 15021]
const HBONE = 15008

const GO_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' }

/** Undoes Go's %q quoting, which the kubelet uses for Downward API values. */
export function unquoteGo (text: string): string {
  if (text.length < 2 || !text.startsWith('"') || !text.endsWith('"')) return text
  return text.slice(1, -1).replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_, e: string) => {
    if (e.length === 1) return GO_ESCAPES[e] ?? e
    const code = e[0] === 'x' || e[0] === 'u' || e[0] === 'U' ? parseInt(e.slice(1), 16) : parseInt(e, 8)
    return code <= 0x10ffff ? String.fromCodePoint(code) : '\ufffd'
  })
}

/** A Downward API `labels` or `annotations` file: one `key="value"` a line. */
export function parseDownwardApi (text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=')
    if (eq <= 0) continue
    out.set(line.slice(0, eq).trim(), unquoteGo(line.slice(eq + 1).trim()))
  }
  return out
}

/**
 * One line of /proc/net/tcp or /proc/net/tcp6 ("  sl  local_address
 * rem_address   st …"; field 3 is the state): the local port when the socket
 * listens (0A), -1 when it belongs to the listening table without listening
 * (03, a pending connection on old kernels), undefined otherwise (the header,
 * or any socket of the established table).
 */
export function listeningPort (line: string): number | undefined {
  const fields = line.trim().split(/\s+/, 4)
  if (fields[3] === '03') return -1
  if (fields[3] !== '0A') return undefined
  const local = fields[1] as string
  const port = parseInt(local.slice(local.lastIndexOf(':') + 1), 16)
  return Number.isInteger(port) ? port : undefined
}

function portList (ports: Set<number>, wanted: (p: number) => boolean): string {
  return [...ISTIO_PORTS].filter(([p]) => ports.has(p) && wanted(p)).map(([p, what]) => `${p} (${what})`).join(', ')
}

/** The mode and the facts that decided it, in evidence order. */
export function decideMode (f: MeshFacts): MeshView {
  const evidence: string[] = []
  let sidecar = false
  let ambient = false

  const { podinfo } = f
  if (podinfo.found) {
    const status = podinfo.annotations.get('sidecar.istio.io/status')
    if (status !== undefined) {
      sidecar = true
      evidence.push(`annotation sidecar.istio.io/status: Istio injected ${injected(status)}`)
    }
    const redirection = podinfo.annotations.get('ambient.istio.io/redirection')
    if (redirection === 'enabled') ambient = true
    if (redirection !== undefined) evidence.push(`annotation ambient.istio.io/redirection=${redirection}`)
    // The pod's own label: istio-cni enrols a pod so labelled (a namespace's label is not in the pod's files).
    const dataplane = podinfo.labels.get('istio.io/dataplane-mode')
    if (dataplane === 'ambient') ambient = true
    if (dataplane !== undefined) evidence.push(`label istio.io/dataplane-mode=${dataplane}`)
    const waypointLabel = podinfo.labels.get('istio.io/use-waypoint')
    if (waypointLabel !== undefined) evidence.push(`label istio.io/use-waypoint=${waypointLabel}`)
    if (status === undefined && redirection === undefined && dataplane === undefined) evidence.push(`no Istio annotation in ${podinfo.dir}`)
  } else {
    evidence.push(`no Downward API files in ${podinfo.dir}`)
  }

  const { listeners } = f
  if (!listeners.read) {
    evidence.push(`cannot read ${listeners.files.join(', ')}`)
  } else if (SIDECAR_PORTS.some((p) => listeners.ports.has(p))) {
    sidecar = true
    evidence.push(`listening in the pod: ${portList(listeners.ports, () => true)}: a sidecar's Envoy`)
  } else if (listeners.ports.has(HBONE)) {
    ambient = true
    evidence.push(`listening in the pod: ${portList(listeners.ports, () => true)}, and not 15000: ztunnel's in-pod listeners`)
  } else {
    evidence.push('no Istio port listens in the pod')
  }

  const { admin } = f
  if (admin.address === undefined) {
    evidence.push('Envoy admin probe off')
  } else if (admin.reachable) {
    sidecar = true
    evidence.push(`Envoy admin answers on ${admin.address}`)
  } else {
    evidence.push(`no Envoy admin on ${admin.address} (${admin.reason})`)
  }

  const h = f.headers
  // The majority of recent requests, so that a stray request through a
  // gateway does not make an ambient-l4 pod look like l7.
  const envoyOnPath = h !== undefined && h.envoyMade > 0 && h.envoyMade * 2 >= h.requests
  const waypoint = envoyOnPath && !sidecar && ambient
  if (!sidecar && h !== undefined && h.requests > 0) evidence.push(headerEvidence(h, envoyOnPath, ambient))

  const mode: MeshMode = sidecar ? 'sidecar' : waypoint ? 'ambient-l7' : ambient ? 'ambient-l4' : envoyOnPath ? 'envoy-on-path' : 'none'
  return { mode, evidence, sidecar, waypoint, envoyOnPath, sidecarMemory: sidecar && admin.reachable ? admin.memory : undefined, istio: istioView(f) }
}

/**
 * The Istio facts of the pod. The revision is the pod's own where it has one
 * (Istio's injector annotates `istio.io/rev`; a user may label it): in
 * ambient only a pod-level label shows it, the namespace's is not in the
 * pod's files. The version and the concurrency need the sidecar's admin.
 */
export function istioView (f: MeshFacts): IstioView {
  const { podinfo, admin } = f
  const info = admin.reachable ? admin.serverInfo : undefined
  const fromPod = podinfo.found
    ? revisionValue(podinfo.annotations.get('istio.io/rev')) ?? revisionValue(podinfo.labels.get('istio.io/rev')) ?? statusRevision(podinfo.annotations.get('sidecar.istio.io/status'))
    : undefined
  return {
    version: info?.istioVersion ?? null,
    revision: fromPod ?? info?.istioRevision ?? null,
    proxyConcurrency: info?.concurrency ?? null,
    envoyVersion: info?.envoyVersion ?? null
  }
}

// sidecar.istio.io/status carries the injecting revision: {…,"revision":"default"}.
function statusRevision (status: string | undefined): string | undefined {
  if (status === undefined) return undefined
  try {
    const revision = (JSON.parse(status) as { revision?: unknown }).revision
    return typeof revision === 'string' ? revisionValue(revision) : undefined
  } catch {
    return undefined
  }
}

function headerEvidence (h: HeaderFacts, envoyOnPath: boolean, ambient: boolean): string {
  if (h.envoyMade === 0) return `no Envoy-made headers on the ${h.requests} requests of the last ${h.seconds} s`
  const share = `Envoy-made headers (x-request-id with x-envoy-* or x-forwarded-client-cert) on ${h.envoyMade} of ${h.requests} requests in the last ${h.seconds} s`
  if (!envoyOnPath) return `${share}: too few for ${ambient ? 'a waypoint' : 'an Envoy on the path of most requests'}`
  return ambient
    ? `${share}, and no sidecar: a waypoint`
    : `${share}: an Envoy on the path, its place unknown (no pod fact shows a sidecar or ambient: a waypoint, an ingress gateway and a client's sidecar send the same)`
}

// sidecar.istio.io/status is JSON: {"initContainers":["istio-init"],"containers":["istio-proxy"],…}
function injected (status: string): string {
  try {
    const s = JSON.parse(status) as { containers?: unknown, initContainers?: unknown }
    const names = [s.initContainers, s.containers].flatMap((v) => Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [])
    return names.length > 0 ? names.join(', ') : 'a sidecar'
  } catch {
    return 'a sidecar'
  }
}
