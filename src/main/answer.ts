// What the answers of `/` off the plain path share (shaped.ts for GET and
// HEAD, upload.ts for POST and PUT): what they need of their server, how
// they count, how they wait out a delay, and how they write a head and a
// prepared body.

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Payload } from './payload.js'
import type { Shape } from './query.js'
import { BODY, BYTES, LENGTH } from './status-bodies.js'

/** The methods `/` takes. */
export const ROOT_ALLOW = 'GET, HEAD, POST, PUT, OPTIONS'
export const TEXT = 'text/plain; charset=utf-8'
export const OCTETS = 'application/octet-stream'

/** What the answers off the plain path need of their server (server.ts). */
export interface ShapedParts {
  readonly counters: Uint32Array
  /** Counts an answered measured request and pushes its sample. */
  readonly record: (status: number, us: number, scan: number) => void
  /** Counts a measured request that ended unanswered. */
  readonly aborted: (scan: number) => void
  /** Whether every answer says Connection: close now (graceful-close.ts). */
  readonly sayClose: () => boolean
  /** A handler reads this request's body: a parse error in it is the request's end, not a refusal (connection-guard.ts). */
  readonly reading: (req: IncomingMessage, on: boolean) => void
  /** MAX_SIZE, in bytes. */
  readonly maxSize: number
  /** Server-Timing's value for `us` (server.ts). */
  readonly serverTiming: (us: number) => string
}

/** The counting every answer off the plain path shares (shaped.ts). */
export interface Tally {
  /** An answered request: its status, sample and body bytes (read and sent). */
  answered: (status: number, us: number, scan: number, bytesIn: number, bytesOut: number) => void
  /** A request that ended unanswered; what it had read still counts. */
  aborted: (scan: number, bytesIn: number) => void
  /** A request refused with an error of its own (413): not measured. */
  unmeasured: (scan: number) => void
}

/**
 * Waits until `delayUs` after `t0` as server.ts's Delayed does (a timer from
 * 1 ms, then yielding to the event loop until it is due; never a spin),
 * then calls `due`; calls `gone` instead if the request closes first. A
 * request whose body was read to its end closes without its client
 * leaving: that close is no departure (`due` checks the socket then).
 */
export function waitOut (req: IncomingMessage, t0: number, delayUs: number, due: () => void, gone: () => void): void {
  const dueAt = t0 + delayUs / 1000
  let done = false
  let wait: NodeJS.Timeout | NodeJS.Immediate
  const closed = (): void => {
    if (done || req.readableEnded) return
    done = true
    clearTimeout(wait as NodeJS.Timeout)
    clearImmediate(wait as NodeJS.Immediate)
    gone()
  }
  const fire = (): void => {
    if (done) return
    if (performance.now() < dueAt) { wait = setImmediate(fire); return }
    done = true
    req.off('close', closed)
    due()
  }
  wait = delayUs >= 1000 ? setTimeout(fire, delayUs / 1000) : setImmediate(fire)
  req.once('close', closed)
}

/** Response headers: `fixed`, then those asked for with header=, then Connection: close when it closes. */
export function headers (fixed: string[], shape: Shape, close: boolean): string[] {
  const out = shape.headers.flat.length === 0 ? fixed : fixed.concat(shape.headers.flat)
  if (close) out.push('Connection', 'close')
  return out
}

/**
 * Writes an answer with a prepared body: `payload`, or the status's default
 * body when null; none for a 204 or 304 (nor a Content-Length: RFC 9110
 * §8.6), whatever `size` says, nor for HEAD. Returns the body bytes sent.
 */
export function writeAnswer (res: ServerResponse, status: number, timing: string, payload: Payload | null, shape: Shape, close: boolean, head: boolean): number {
  const length = payload === null ? LENGTH[status] : payload.length
  if (LENGTH[status] === undefined) {
    res.writeHead(status, headers(['Server-Timing', timing], shape, close))
    res.end()
    return 0
  }
  const type = shape.headers.contentType ?? (payload === null ? TEXT : OCTETS)
  res.writeHead(status, headers(['Content-Type', type, 'Content-Length', length as string, 'Server-Timing', timing], shape, close))
  if (head) { res.end(); return 0 }
  if (payload === null) { res.end(BODY[status]); return BYTES[status] as number }
  res.end(payload.body)
  return payload.body.length
}
