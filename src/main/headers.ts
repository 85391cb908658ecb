// One pass over a request's raw headers, for the hot path: is it a kubelet
// probe, how many proxy hops (X-Forwarded-For and Via entries) and mesh hops
// (Envoy markers) did it cross. Reads rawHeaders directly so that node:http
// never builds the headers object for a measured request, and returns a
// packed integer so that nothing is allocated.
//
//   -1                     a kubelet probe (User-Agent: kube-probe/…): not measured
//   bits 0..7   proxy hops X-Forwarded-For entries + Via entries, at most MAX_HOPS
//   bits 8..15  mesh hops  Envoys the request crossed, from their markers:
//                          x-envoy-attempt-count: a client-side Envoy;
//                          x-forwarded-client-cert: an mTLS server-side Envoy;
//                          x-request-id alone: some Envoy
//   bits 16..   markers    the flags below
//
// Tracing headers (x-b3-*, traceparent) are noted but are not hops: they ride
// along with the request from the caller, whatever it crossed.

export const PROBE = -1
export const MAX_HOPS = 64
export const F = {
  ENVOY_ATTEMPT: 1 << 16,
  XFCC: 1 << 17,
  REQUEST_ID: 1 << 18,
  ENVOY_OTHER: 1 << 19,
  TRACING: 1 << 20,
  FORWARDED: 1 << 21
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
  let proxy = 0
  let flags = 0
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    const len = name.length
    // Lengths first: most headers are rejected without a string compare.
    if (len === 10) {
      if (name.toLowerCase() === 'user-agent' && (raw[i + 1] as string).startsWith('kube-probe/')) return PROBE
    } else if (len === 15) {
      if (name.toLowerCase() === 'x-forwarded-for') {
        proxy += countEntries(raw[i + 1] as string, MAX_HOPS - proxy)
        flags |= F.FORWARDED
      }
    } else if (len === 3) {
      if (name.toLowerCase() === 'via') proxy += countEntries(raw[i + 1] as string, MAX_HOPS - proxy)
    } else if (len === 12) {
      if (name.toLowerCase() === 'x-request-id') flags |= F.REQUEST_ID
    } else if (len === 23) {
      if (name.toLowerCase() === 'x-forwarded-client-cert') flags |= F.XFCC
    } else if (len === 11) {
      if (name.toLowerCase() === 'traceparent') flags |= F.TRACING
    }
    if (len > 8 && (name.charCodeAt(0) | 32) === 120 /* x */ && name.charCodeAt(1) === 45 /* - */) {
      const lower = name.toLowerCase()
      if (lower.startsWith('x-envoy-')) flags |= lower === 'x-envoy-attempt-count' ? F.ENVOY_ATTEMPT : F.ENVOY_OTHER
      else if (lower.startsWith('x-b3-')) flags |= F.TRACING
    }
  }
  let mesh = ((flags & F.ENVOY_ATTEMPT) !== 0 ? 1 : 0) + ((flags & F.XFCC) !== 0 ? 1 : 0)
  if (mesh === 0 && (flags & F.REQUEST_ID) !== 0 && (flags & F.ENVOY_OTHER) !== 0) mesh = 1
  return proxy | (mesh << 8) | flags
}

export const proxyHops = (scan: number): number => scan & 0xff
export const meshHops = (scan: number): number => (scan >> 8) & 0xff
