// `/` off the plain path (server.ts keeps that one: GET with no query, or
// with `delay` and `status` alone): GET and HEAD with `size`, `header` or
// `close`; HEAD; POST and PUT (upload.ts); OPTIONS and the other methods.
// Measured like the plain path, with the same server time (the request
// event to the moment the head is ready, docs/stats.md) and the same rule
// for what counts as answered: a response handed to a live connection, or
// written in its turn when it waited behind another of its pipeline. Each
// answer also counts its body bytes (status-bodies.ts). Per request it
// allocates a headers array and, with a delay, a closure or two; nothing
// is built from the query here: the parser did that once (query.ts).

import type { IncomingMessage, ServerResponse } from 'node:http'
import { ApiError } from '../shared/errors.js'
import { add, C, inc } from '../shared/layout.js'
import { ROOT_ALLOW, waitOut, writeAnswer, type ShapedParts, type Tally } from './answer.js'
import { Deliveries } from './delivery.js'
import { PROBE } from './headers.js'
import type { Payload } from './payload.js'
import { closes, NO_SHAPE, pick, type RootSpec, type Shape } from './query.js'
import { sendError } from './reply.js'
import { BYTES } from './status-bodies.js'
import { createUploads } from './upload.js'

interface Sent { status: number, us: number, scan: number, bytes: number }

export type ShapedRoot = (req: IncomingMessage, res: ServerResponse, t0: number, spec: RootSpec, scan: number) => void

export function createShaped (parts: ShapedParts): ShapedRoot {
  const { counters, record, sayClose, serverTiming } = parts

  const tally: Tally = {
    answered (status, us, scan, bytesIn, bytesOut) {
      if (scan === PROBE) return
      record(status, us, scan)
      // After record(): STATUS first, then what the byte sum takes back (status-bodies.ts).
      const unsent = BYTES[status] as number
      if (unsent > 0) add(counters, C.DEFAULT_BYTES_UNSENT, unsent)
      if (bytesOut > 0) add(counters, C.BYTES_OUT, bytesOut)
      if (bytesIn > 0) add(counters, C.BYTES_IN, bytesIn)
    },
    aborted (scan, bytesIn) {
      if (scan === PROBE) return
      parts.aborted(scan)
      if (bytesIn > 0) add(counters, C.BYTES_IN, bytesIn)
    },
    unmeasured (scan) {
      // A probe's was counted when it came in (server.ts).
      if (scan !== PROBE) inc(counters, C.UNMEASURED)
    }
  }
  const upload = createUploads(parts, tally)
  const queued = new Deliveries<Sent>((s) => tally.answered(s.status, s.us, s.scan, 0, s.bytes), (s) => tally.aborted(s.scan, 0))

  function answer (res: ServerResponse, t0: number, scan: number, status: number, payload: Payload | null, shape: Shape, close: boolean, head: boolean): void {
    const us = Math.round((performance.now() - t0) * 1000)
    const socket = res.socket
    const closing = close || sayClose()
    if (socket !== null && socket.writable) {
      const bytes = writeAnswer(res, status, serverTiming(us), payload, shape, closing, head)
      return tally.answered(status, us, scan, 0, bytes)
    }
    // Queued behind another response of its pipeline, or its client is gone (server.ts, respondLater).
    if (!res.req.socket.writable) return tally.aborted(scan, 0)
    const bytes = writeAnswer(res, status, serverTiming(us), payload, shape, closing, head)
    queued.add(res, { status, us, scan, bytes })
  }

  function get (req: IncomingMessage, res: ServerResponse, t0: number, spec: RootSpec, scan: number, head: boolean): void {
    const shape = spec.shape ?? NO_SHAPE
    const status = pick(spec.status)
    const delayUs = pick(spec.delay)
    const payload = pick(shape.size)
    const close = closes(shape.close)
    if (delayUs === 0) return answer(res, t0, scan, status, payload, shape, close, head)
    waitOut(req, t0, delayUs, () => answer(res, t0, scan, status, payload, shape, close, head), () => tally.aborted(scan, 0))
  }

  return function serve (req, res, t0, spec, scan) {
    const method = req.method
    if (method === 'GET' || method === 'HEAD') return get(req, res, t0, spec, scan, method === 'HEAD')
    if (method === 'POST' || method === 'PUT') return upload(req, res, t0, spec, scan)
    tally.unmeasured(scan)
    const extra: Record<string, string> = sayClose() ? { allow: ROOT_ALLOW, connection: 'close' } : { allow: ROOT_ALLOW }
    if (method === 'OPTIONS') {
      res.writeHead(204, extra)
      res.end()
      return
    }
    sendError(res, new ApiError('METHOD_NOT_ALLOWED', `${method ?? ''} is not allowed on /: use ${ROOT_ALLOW}`), extra)
  }
}
