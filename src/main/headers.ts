// One pass over a request's raw headers, for the hot path: is it a kubelet
// probe, how many proxy hops and mesh hops did it cross, and which mesh
// markers does it carry. Reads rawHeaders directly so that node:http never
// builds the headers object for a measured request, and returns a packed
// integer so that nothing is allocated.
//
//   -1                     a kubelet probe (User-Agent: kube-probe/…): not measured
//   bits 0..7   proxy hops proxies that recorded themselves in X-Forwarded-For or Via
//   bits 8..15  mesh hops  Envoys the request crossed, from their markers
//   bits 16..   markers    the flags below
//
// The algorithm (docs/mesh.md "How hops are counted"; what a mesh hop means
// in each mode is its "Hops and the mode"):
// - Each proxy that forwards a request appends one X-Forwarded-For entry (the
//   address it got the request from) and/or one Via entry (itself). Many add
//   both (Varnish, Squid, Apache with ProxyVia, cloud load balancers), so the
//   proxy hops are max(XFF entries, Via entries), not their sum. Entries are
//   counted over every header line (HAProxy adds a new line rather than
//   appending), at most MAX_HOPS, by indexOf: an XFF of 100,000 entries costs
//   what one of MAX_HOPS does.
// - Envoy hops come from Envoy's markers: x-envoy-attempt-count is set by a
//   client-side Envoy (the router), x-forwarded-client-cert by a server-side
//   Envoy that terminated mTLS; x-request-id with another x-envoy-* header is
//   some Envoy. x-request-id alone is not a hop: nginx, frameworks and clients
//   set it too. Markers are set, not appended, so two Envoys of the same kind
//   count once.
// - Istio's sidecars leave X-Forwarded-For alone, but an edge Envoy (Istio's
//   gateways: use_remote_address) appends to it and is then counted twice: by
//   its XFF entry and by its markers. Such an Envoy, and only such an Envoy,
//   sets x-envoy-external-address, so when that header is there one XFF hop is
//   taken back.
// - Tracing headers (x-b3-*, b3, traceparent) are noted but are not hops: they
//   ride along with the request from the caller, whatever it crossed.

import type { IncomingMessage } from 'node:http'
import { REDACTED, secretHeader } from './redact.js'
import { validHost } from './request-edge.js'

export const PROBE = -1
export const MAX_HOPS = 64
export const F = {
  ENVOY_ATTEMPT: 1 << 16,
  XFCC: 1 << 17,
  REQUEST_ID: 1 << 18,
  ENVOY_OTHER: 1 << 19,
  TRACING: 1 << 20,
  FORWARDED: 1 << 21,
  VIA: 1 << 22,
  /** x-envoy-external-address: an edge Envoy appended to X-Forwarded-For. */
  ENVOY_EDGE: 1 << 23,
  /** x-request-id with x-envoy-* or x-forwarded-client-cert: the headers an Envoy makes (waypoint evidence). */
  ENVOY_MADE: 1 << 24,
  /** A Host header: HTTP/1.1 requires one. */
  HOST: 1 << 25,
  /** A second Host, an invalid Host, or any Transfer-Encoding: request-edge.ts decides. */
  FRAMING: 1 << 26
} as const

/** Entries in a comma-separated header, at most `limit`, at bounded cost whatever its size. */
export function countEntries (value: string, limit: number): number {
  if (value.length === 0 || limit <= 0) return 0
  let n = 1
  let at = value.indexOf(',')
  while (at >= 0 && n < limit) {
    n++
    at = value.indexOf(',', at + 1)
  }
  return n
}

export function scanHeaders (raw: readonly string[]): number {
  let xff = 0
  let via = 0
  let flags = 0
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    const len = name.length
    // Lengths and first characters first: most headers are rejected without
    // a string compare. An x- header is lower-cased once; a charCodeAt loop
    // instead of toLowerCase() and === measured no faster.
    if (len > 4 && (name.charCodeAt(0) | 32) === 120 /* x */ && name.charCodeAt(1) === 45 /* - */) {
      const lower = name.toLowerCase()
      if (len === 15 && lower === 'x-forwarded-for') {
        xff += countEntries(raw[i + 1] as string, MAX_HOPS - xff)
        flags |= F.FORWARDED
      } else if (len === 12 && lower === 'x-request-id') {
        flags |= F.REQUEST_ID
      } else if (len === 23 && lower === 'x-forwarded-client-cert') {
        flags |= F.XFCC
      } else if (lower.startsWith('x-envoy-')) {
        if (lower === 'x-envoy-attempt-count') flags |= F.ENVOY_ATTEMPT
        else flags |= lower === 'x-envoy-external-address' ? F.ENVOY_EDGE | F.ENVOY_OTHER : F.ENVOY_OTHER
      } else if (lower.startsWith('x-b3-')) {
        flags |= F.TRACING
      }
    } else if (len === 10) {
      if (name.toLowerCase() === 'user-agent' && (raw[i + 1] as string).startsWith('kube-probe/')) return PROBE
    } else if (len === 3) {
      if (name.toLowerCase() === 'via') {
        via += countEntries(raw[i + 1] as string, MAX_HOPS - via)
        flags |= F.VIA
      }
    } else if (len === 11) {
      if (name.toLowerCase() === 'traceparent') flags |= F.TRACING
    } else if (len === 2) {
      if (name.toLowerCase() === 'b3') flags |= F.TRACING
    } else if (len === 4) {
      if (name.toLowerCase() === 'host') flags |= (flags & F.HOST) !== 0 || !validHost(raw[i + 1] as string) ? F.HOST | F.FRAMING : F.HOST
    } else if (len === 17) {
      if (name.toLowerCase() === 'transfer-encoding') flags |= F.FRAMING
    }
  }
  let mesh = ((flags & F.ENVOY_ATTEMPT) !== 0 ? 1 : 0) + ((flags & F.XFCC) !== 0 ? 1 : 0)
  if (mesh === 0 && (flags & F.REQUEST_ID) !== 0 && (flags & F.ENVOY_OTHER) !== 0) mesh = 1
  if ((flags & F.REQUEST_ID) !== 0 && (flags & (F.ENVOY_ATTEMPT | F.ENVOY_OTHER | F.XFCC)) !== 0) flags |= F.ENVOY_MADE
  let proxy = xff > via ? xff : via
  if ((flags & F.ENVOY_EDGE) !== 0 && mesh > 0 && proxy > 0) proxy--
  return proxy | (mesh << 8) | flags
}

export const proxyHops = (scan: number): number => scan & 0xff
export const meshHops = (scan: number): number => (scan >> 8) & 0xff

const MARKER_NAMES: Array<[number, string]> = [
  [F.FORWARDED, 'x-forwarded-for'],
  [F.VIA, 'via'],
  [F.ENVOY_ATTEMPT, 'x-envoy-attempt-count'],
  [F.XFCC, 'x-forwarded-client-cert'],
  [F.REQUEST_ID, 'x-request-id'],
  [F.ENVOY_OTHER, 'x-envoy-*'],
  [F.ENVOY_EDGE, 'x-envoy-external-address'],
  [F.TRACING, 'tracing']
]

/** For the slow path (/stats, /debug/headers): what one scan found, spelled out. */
export function describeScan (scan: number): { proxy_hops: number, mesh_hops: number, total_hops: number, envoy_made: boolean, markers: string[] } {
  if (scan === PROBE) return { proxy_hops: 0, mesh_hops: 0, total_hops: 0, envoy_made: false, markers: ['kube-probe'] }
  return {
    proxy_hops: proxyHops(scan),
    mesh_hops: meshHops(scan),
    total_hops: proxyHops(scan) + meshHops(scan),
    envoy_made: (scan & F.ENVOY_MADE) !== 0,
    markers: MARKER_NAMES.filter(([flag]) => (scan & flag) !== 0).map(([, name]) => name)
  }
}

/**
 * GET /debug/headers: what this request looked like on arrival, and how its
 * hops were counted. Header names are lower-cased; a header sent on several
 * lines (HAProxy adds X-Forwarded-For as a new line) is a list of its values.
 * Every header whose name says secret is redacted (redact.ts).
 */
export function debugHeaders (req: IncomingMessage): Record<string, unknown> {
  const raw = req.rawHeaders
  // No prototype: a header named __proto__ is a header like any other.
  const headers = Object.create(null) as Record<string, string | string[]>
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase()
    const value = secretHeader(name) ? REDACTED : raw[i + 1] as string
    const seen = headers[name]
    headers[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value]
  }
  return {
    remote_address: req.socket.remoteAddress ?? null,
    remote_port: req.socket.remotePort ?? null,
    http_version: req.httpVersion,
    method: req.method ?? null,
    url: req.url ?? null,
    headers,
    hops: describeScan(scanHeaders(raw))
  }
}
