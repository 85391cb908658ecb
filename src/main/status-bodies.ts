// The default bodies of `/`, by status, and the byte counts of measured
// requests that /stats and /metrics report.
//
// Response bytes are counted without a cost on the plain path (server.ts:
// `GET /` with no query, or with `delay` and `status` alone), whose answer is
// always its status's default body: those bytes are Σ LENGTH[s] × STATUS[s],
// read from counters it keeps anyway. Every other answer (shaped.ts,
// upload.ts) adds the bytes it did send to C.BYTES_OUT, and its status's
// default length to C.DEFAULT_BYTES_UNSENT, which the sum takes back.

import { STATUS_CODES } from 'node:http'
import { C, readCounter, readStatus, STATUS_MAX, STATUS_MIN, type Views } from '../shared/layout.js'

// Bodies and their lengths by status, built once: `OK\n` for 200, the reason
// phrase otherwise. 204 and 304 have neither (RFC 9110 8.6, 15.3.5, 15.4.5:
// no body, and no Content-Length on a 204); ?status= never asks for a 1xx.
export const BODY: string[] = []
export const LENGTH: Array<string | undefined> = []
/** LENGTH as numbers, 0 for 204 and 304. */
export const BYTES: number[] = []
for (let s = STATUS_MIN; s <= STATUS_MAX; s++) {
  BYTES[s] = 0
  if (s === 204 || s === 304) continue
  const body = s === 200 ? 'OK\n' : `${STATUS_CODES[s] ?? 'Status ' + String(s)}\n`
  BODY[s] = body
  BYTES[s] = Buffer.byteLength(body)
  LENGTH[s] = String(BYTES[s])
}

/** Request body bytes read by measured requests (POST and PUT), aborted ones included, over every shard. */
export function requestBytes (v: Views): number {
  return readCounter(v, C.BYTES_IN)
}

/**
 * Response body bytes of measured requests answered, over every shard.
 * DEFAULT_BYTES_UNSENT is read first: an answer adds to it only after its
 * STATUS, so what is taken back was always counted in the sum, and the
 * figure never dips below what was sent while requests keep coming.
 */
export function responseBytes (v: Views): number {
  const unsent = readCounter(v, C.DEFAULT_BYTES_UNSENT)
  let plain = 0
  for (let s = STATUS_MIN; s <= STATUS_MAX; s++) {
    const bytes = BYTES[s] as number
    if (bytes > 0) plain += bytes * readStatus(v, s)
  }
  return Math.max(0, plain - unsent) + readCounter(v, C.BYTES_OUT)
}
