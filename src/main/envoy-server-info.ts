// Envoy admin's GET /server_info (envoy.admin.v3.ServerInfo as JSON): what
// the sidecar runs. Envoy prints
//   { "version": "<sha>/1.31.2/Clean/RELEASE/BoringSSL", "state": "LIVE",
//     "command_line_options": { "concurrency": 2, … },
//     "node": { "metadata": { "ISTIO_VERSION": "1.24.1", … }, … }, … }
// and a result's fingerprint keeps three of it: the Envoy version, the
// worker threads (`--concurrency`, which Istio sets from the proxy's CPU
// limit or proxy.istio.io/config, and which bounds what one sidecar can do)
// and the Istio version its agent put in the node metadata. A value that is
// not in Envoy's shape is left out, never echoed: /stats must not carry
// whatever a listener on 15000 says.

export interface EnvoyServerInfo {
  /** The release in Envoy's version string (`1.31.2`, `1.32.0-dev`); undefined when it has none. */
  envoyVersion: string | undefined
  /** Worker threads, `command_line_options.concurrency`; undefined when not a whole number from 1 to 1024. */
  concurrency: number | undefined
  /** The node metadata's ISTIO_VERSION, set by Istio's agent; undefined outside Istio. */
  istioVersion: string | undefined
  /** The node metadata's ISTIO_REVISION, where the agent sets it. */
  istioRevision: string | undefined
}

/** A version as Envoy and Istio write them: `1.24.1`, `1.25-alpha.0`, `1.24.1-distroless`. */
const VERSION = /^\d{1,4}\.\d{1,4}[\w.+-]{0,60}$/
/** A Kubernetes label value (an Istio revision is one): at most 63 characters. */
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/

const object = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : undefined

const matching = (v: unknown, re: RegExp): string | undefined => (typeof v === 'string' && re.test(v) ? v : undefined)

/** `<sha>/1.31.2/Clean/RELEASE/BoringSSL` → `1.31.2`; the first segment that is a version. */
export function envoyRelease (version: string): string | undefined {
  return version.split('/').find((part) => VERSION.test(part))
}

function concurrencyOf (v: unknown): number | undefined {
  // uint32 in the proto: a JSON number (a string too, to be lenient with a proxy's own printer).
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,4}$/.test(v) ? Number(v) : Number.NaN
  return Number.isInteger(n) && n >= 1 && n <= 1024 ? n : undefined
}

/** Parses a /server_info body; undefined when it is not Envoy's (no version string or no command line options). */
export function parseServerInfo (body: string): EnvoyServerInfo | undefined {
  let json: unknown
  try { json = JSON.parse(body) } catch { return undefined }
  const o = object(json)
  const options = object(o?.command_line_options)
  if (o === undefined || options === undefined || typeof o.version !== 'string') return undefined
  const metadata = object(object(o.node)?.metadata)
  return {
    envoyVersion: envoyRelease(o.version),
    concurrency: concurrencyOf(options.concurrency),
    istioVersion: matching(metadata?.ISTIO_VERSION, VERSION),
    istioRevision: matching(metadata?.ISTIO_REVISION, LABEL_VALUE)
  }
}

/** An Istio revision from a pod label or annotation value; undefined when it is not a label value. */
export function revisionValue (v: string | undefined): string | undefined {
  return matching(v, LABEL_VALUE)
}
