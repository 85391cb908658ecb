// The fields a comparison holds equal, one entry each: its name (what
// --allow-different takes), its title, why a difference changes the answer,
// and a result's value. Each is a fact of the run that moves the figures by
// itself: what a request carries and brings back, how the load is shaped,
// where the client ran against the server, which Istio and proxy threads
// served it, and which client measured it. The target and its mesh mode are
// left out: they are what a comparison compares.
//
// A value is known, assumed (the result predates the field and its value
// then is certain: -b was the only body, every load had -c), or unknown (a
// result without a fingerprint, or a fact its target did not show, like
// the Istio version behind ztunnel): an unknown value is never held against
// another.

import { fmtInt, fmtNum, fmtPayload } from './format.js'
import type { LoadResult } from './result.js'

/** Why a value is unknown: the result has no fingerprint (an older podmeter), or its target did not show it. */
export type Unknown = 'no-fingerprint' | 'not-visible'

export type FieldValue =
  | {
    /** Equal keys are the same value (or `same` says so). */
    key: string
    /** The value for people: `POST, 1,024-byte request bodies`. */
    text: string
    /** Set when the result does not record the field and the value is assumed: why, and what was taken. */
    assumed?: string
  }
  | { key: null, text: string, unknown: Unknown }
  /** Does not apply to this result (the requested rate of a closed loop). */
  | { key: null, text: string, unknown?: undefined }

export interface FingerprintField {
  /** The name --allow-different takes. */
  name: string
  /** What it is, for the message: `payload (method and request body size)`. */
  title: string
  /** Why a difference matters, for the refusal. */
  why: string
  value: (r: LoadResult) => FieldValue
  /** Whether two keys are the same value, when not only equal keys are (measured sizes). */
  same?: (a: string, b: string) => boolean
  /** Compared only among rounds that agree in this field: what follows from it is its difference (an echo's answers follow the payload). */
  within?: string
}

/** The result's fingerprint, or undefined in an older podmeter's result. */
const fp = (r: LoadResult): Partial<LoadResult['fingerprint']> | undefined => (r as Partial<LoadResult>).fingerprint ?? undefined

const unknown = (r: LoadResult): FieldValue => ({ key: null, text: '?', unknown: fp(r) === undefined ? 'no-fingerprint' : 'not-visible' })

const payload: FingerprintField = {
  name: 'payload',
  title: 'payload (method and request body size)',
  why: 'what a proxy does per request grows with what the request carries, so the difference would be the payloads\'',
  value: (r) => {
    const p = fp(r)?.payload ?? (r as Partial<LoadResult>).payload
    if (p === undefined || p === null) {
      // Written before results recorded their payload: -b was the only body then, and it was not recorded.
      const method = typeof r.method === 'string' ? r.method : 'GET'
      return { key: `${method} 0`, text: fmtPayload(method, 0), assumed: `has no payload record (written by an older podmeter): taken as ${method} with no request body` }
    }
    return { key: `${p.method} ${p.request_body_bytes}`, text: fmtPayload(p.method, p.request_body_bytes) }
  }
}

/** Mean answer sizes within 10 % (or 8 bytes) of each other are the same: a size mix or a few error bodies move the mean a little. */
export function sameSize (a: number, b: number): boolean {
  return Math.abs(a - b) <= Math.max(8, 0.1 * Math.max(a, b))
}

const responseSize: FingerprintField = {
  name: 'response_size',
  title: 'response size (the mean body of the answers)',
  why: 'a proxy copies, buffers and encrypts every byte of an answer, so the difference would be the response sizes\'',
  value: (r) => {
    const answers = (r as Partial<LoadResult>).payload?.response_body_bytes
    if (answers === undefined) return unknown(r)
    if (answers === null) return { key: null, text: 'no answer', unknown: 'not-visible' }
    const text = answers.min === answers.max ? `${fmtInt(answers.min)} bytes` : `${fmtInt(answers.min)} to ${fmtInt(answers.max)} bytes, mean ${fmtNum(answers.mean, 0)}`
    return { key: String(answers.mean), text }
  },
  same: (a, b) => sameSize(Number(a), Number(b)),
  // An echo answers with what it was sent: answers of another size for another payload are the payload's difference.
  within: 'payload'
}

const connections: FingerprintField = {
  name: 'connections',
  title: 'connections (-c, and pipelining)',
  why: 'how many requests are in flight at once sets the proxies\' queues and threads, so the difference would be the concurrency\'s',
  value: (r) => {
    const pipelined = typeof r.pipelining === 'number' && r.pipelining > 1 ? r.pipelining : 1
    return { key: `${r.connections}x${pipelined}`, text: `${fmtInt(r.connections)} connection${r.connections === 1 ? '' : 's'}${pipelined > 1 ? ` × ${pipelined} pipelined` : ''}` }
  }
}

const loadKind: FingerprintField = {
  name: 'load_kind',
  title: 'load kind (closed or open loop)',
  why: 'open-loop latency counts from when each request was due (corrected), closed-loop from when it was sent',
  value: (r) => ({ key: r.mode === 'open' ? 'open' : 'closed', text: r.mode === 'open' ? 'open loop' : 'closed loop' })
}

const rate: FingerprintField = {
  name: 'rate',
  title: 'rate (the open loop\'s requested req/s)',
  why: 'what a proxy costs and how it queues depend on the rate it serves, so the difference would be the rates\'',
  value: (r) => r.mode === 'open' && typeof r.requested_rate === 'number'
    ? { key: String(r.requested_rate), text: `${fmtNum(r.requested_rate, r.requested_rate % 1 === 0 ? 0 : 1)} req/s` }
    : { key: null, text: '–' }
}

const placement: FingerprintField = {
  name: 'placement',
  title: 'placement (client and server on the same node or not)',
  why: 'a request between nodes crosses the network (and, in ambient, a second ztunnel), so the difference would be the placements\'',
  value: (r) => {
    const p = fp(r)?.placement ?? (r as Partial<LoadResult>).placement
    return p === 'same-node' || p === 'cross-node' ? { key: p, text: p } : unknown(r)
  }
}

/** A field read from the fingerprint, else (an older result) from the target's /stats, where it may be. */
function targetFact (name: 'istio_version' | 'istio_revision' | 'proxy_concurrency', title: string, why: string): FingerprintField {
  return {
    name,
    title,
    why,
    value: (r) => {
      const f = fp(r)
      const v = f !== undefined && name in f ? f[name] : r.target_stats?.[name]
      return typeof v === 'string' || typeof v === 'number' ? { key: String(v), text: String(v) } : unknown(r)
    }
  }
}

const istioVersion = targetFact('istio_version', 'Istio version (the sidecar\'s ISTIO_VERSION)', 'each Istio release changes what its proxies do per request, so the difference would be the releases\'')
const istioRevision = targetFact('istio_revision', 'Istio revision (istio.io/rev)', 'a revision is a control plane of its own, with its own release and mesh config, so the difference would be the revisions\'')
const proxyConcurrency = targetFact('proxy_concurrency', 'proxy concurrency (Envoy worker threads)', 'a sidecar\'s worker threads bound the load it serves and its latency under it, so the difference would be the proxies\'')

/** A fact of the client, only in a fingerprint. */
function clientFact (name: 'node_version' | 'podmeter_version', title: string, why: string): FingerprintField {
  return {
    name,
    title,
    why,
    value: (r) => {
      const v = fp(r)?.[name]
      return typeof v === 'string' ? { key: v, text: v } : unknown(r)
    }
  }
}

const nodeVersion = clientFact('node_version', 'Node version (of the client)', 'the client\'s own time per request is in every end-to-end figure, and it changes with Node')
const podmeterVersion = clientFact('podmeter_version', 'PodMeter version (of the client)', 'how a podmeter measures (its client, its corrections) can change between versions')

/** Every field a comparison holds equal, in the order they are checked. */
export const FIELDS: readonly FingerprintField[] = [
  payload, responseSize, connections, loadKind, rate, placement,
  istioVersion, istioRevision, proxyConcurrency, nodeVersion, podmeterVersion
]
