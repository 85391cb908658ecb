// The framing rules of RFC 9112 that node's parser (llhttp, Node 20 and 24
// alike) leaves to the application, checked after the headers and before
// any handler runs:
//
// - the version: llhttp reads `GET /` (no version) and `GET / HTTP/0.9` as
//   HTTP/0.9, and `HTTP/2.0` as itself; only HTTP/1.0 and HTTP/1.1 are served;
// - Host: an HTTP/1.1 request needs one, and any request at most one, with a
//   valid value (uri-host [":" port], RFC 3986 3.2.2; empty is valid);
// - Transfer-Encoding: llhttp takes `xchunked`, `gzip` or `gzip, chunked` on
//   a request and only fails at the first byte of its body (or swallows the
//   rest of the connection as that body); Node 20 also takes an empty value,
//   which Node 24 refuses itself. The one coding served is a single `chunked`.
//
// A refused request is answered 400 `BAD_REQUEST` (connection-guard.ts writes
// it and closes the connection) and counted in requests_refused, never
// measured. The hot path pays for none of this unless scanHeaders (headers.ts)
// flagged the request: edgeError() is for flagged requests and the slow path.

import type { IncomingMessage } from 'node:http'
import { ApiError } from '../shared/errors.js'

// reg-name (unreserved, sub-delims, pct-encoded) or an IP literal, then an
// optional port; no alternative overlaps another, so the match is linear.
const HOST = /^(?:\[[\w:.%~!$&'()*+,;=-]+\]|(?:[\w.~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})*)(?::\d*)?$/

/**
 * The last Host value found valid: a load sends one Host over and over, and
 * comparing 20 characters is cheaper than the match (the regex was about
 * 0.15 µs of a pipelined request's CPU, bench/results/cpu.md).
 */
let lastValidHost = ''

/** A Host value RFC 9112 3.2 accepts (about 30 ns for a usual one, on the hot path). */
export function validHost (value: string): boolean {
  if (value === lastValidHost) return true
  if (!HOST.test(value)) return false
  lastValidHost = value
  return true
}

/** The one Transfer-Encoding served: a single `chunked` (any case). */
export function servedCoding (value: string): boolean {
  return value.length === 7 && value.toLowerCase() === 'chunked'
}

const quote = (text: string): string => JSON.stringify(text.slice(0, 100))

/**
 * The answer to a Transfer-Encoding that is not one `chunked`, whether this
 * file or llhttp finds it (the value is unknown to the parser's error).
 */
export function codingError (value?: string): ApiError {
  const which = value === undefined ? '' : ` ${quote(value)}`
  return new ApiError('BAD_REQUEST', `Transfer-Encoding${which} is not served: send Content-Length, or Transfer-Encoding: chunked alone (RFC 9112, 6.1)`)
}

/** Why `req` may not be served, or undefined when its framing is sound. */
export function edgeError (req: IncomingMessage): ApiError | undefined {
  if (req.httpVersionMajor !== 1) {
    const version = req.httpVersionMajor === 0 ? 'HTTP/0.9 (or a request line without a version)' : `HTTP/${req.httpVersion}`
    return new ApiError('BAD_REQUEST', `${version} is not served: use HTTP/1.1 or HTTP/1.0 (RFC 9112, 2.3)`)
  }
  const raw = req.rawHeaders
  let hosts = 0
  let codings = 0
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    const value = raw[i + 1] as string
    if (name.length === 4 && name.toLowerCase() === 'host') {
      if (++hosts > 1) return new ApiError('BAD_REQUEST', 'a request may carry one Host header, not several (RFC 9112, 3.2)')
      if (!validHost(value)) return new ApiError('BAD_REQUEST', `Host ${quote(value)} is not a host[:port] (RFC 9112, 3.2)`)
    } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      if (++codings > 1 || !servedCoding(value)) return codingError(value)
    }
  }
  if (hosts === 0 && req.httpVersionMinor === 1) return new ApiError('BAD_REQUEST', 'an HTTP/1.1 request needs a Host header (RFC 9112, 3.2)')
  return undefined
}
