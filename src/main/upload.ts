// POST and PUT `/`: the request body comes back as it came (the echo), or,
// with `size=` (or a 204 or 304), it is read and dropped and the prepared
// body answers. Measured like GET /: the same query, counted, a sample and
// Server-Timing, and the body bytes read and sent.
//
// - The cap is MAX_SIZE. A Content-Length above it gets 413 BODY_TOO_LARGE
//   before a byte of the body is read (before 100 Continue too: server.ts),
//   and so does a chunked body that passes it while nothing is answered yet;
//   the connection then closes, and the request is not measured. A chunked
//   echo that passes it once its answer has begun can no longer say so: the
//   connection is cut, and the request counts as aborted.
// - The head is ready once the delay is over: that is the server time, as
//   on GET. The echo sends it then and streams the body through, with
//   backpressure, so a body is never held whole; nothing is read before
//   then. Any other answer waits for the whole body first: a response that
//   ends before its request has arrived is cut by Envoy (and the request
//   with it), so that wait is the client's and the network's time, not the
//   server's.
// - A request is answered once its response is written whole, which is
//   after its body arrived whole. One whose body breaks off (the client
//   leaves, a malformed chunk, REQUEST_TIMEOUT_MS) or whose connection dies
//   first is aborted, never a success, and what it had read still counts
//   in request_bytes.

import type { IncomingMessage, ServerResponse } from 'node:http'
import { ApiError } from '../shared/errors.js'
import { formatSize } from '../shared/size.js'
import { headers, OCTETS, waitOut, writeAnswer, type ShapedParts, type Tally } from './answer.js'
import { Deliveries } from './delivery.js'
import type { Payload } from './payload.js'
import { closes, NO_SHAPE, pick, type RootSpec, type Shape } from './query.js'
import { sendError } from './reply.js'
import { fieldValue } from './response-headers.js'
import { LENGTH } from './status-bodies.js'

export function createUploads (parts: ShapedParts, tally: Tally): (req: IncomingMessage, res: ServerResponse, t0: number, spec: RootSpec, scan: number) => void {
  const { maxSize, sayClose, serverTiming, reading } = parts
  // Responses ended while queued behind another of their pipeline (delivery.ts).
  const queued = new Deliveries<Upload>((u) => u.answered(), (u) => u.abort())
  const noop = (): void => {}

  class Upload {
    readonly req: IncomingMessage
    readonly res: ServerResponse
    readonly t0: number
    readonly scan: number
    readonly status: number
    readonly payload: Payload | null
    readonly shape: Shape
    readonly close: boolean
    readonly echo: boolean
    /** Body bytes read and sent so far. */
    read = 0
    sent = 0
    /** The server time, once the head is ready; -1 before. */
    us = -1
    bodyDone = false
    /** Counted (answered, aborted or refused): nothing more happens to it. */
    settled = false

    constructor (req: IncomingMessage, res: ServerResponse, t0: number, scan: number, spec: RootSpec) {
      const shape = spec.shape ?? NO_SHAPE
      this.req = req
      this.res = res
      this.t0 = t0
      this.scan = scan
      this.status = pick(spec.status)
      this.payload = pick(shape.size)
      this.shape = shape
      this.close = closes(shape.close)
      this.echo = this.payload === null && LENGTH[this.status] !== undefined
      reading(req, true)
      res.on('error', noop)
      res.once('finish', () => this.answered())
      res.once('close', () => { if (!res.writableFinished) this.abort() })
      req.once('close', () => { if (!req.readableEnded) this.abort() })
      if (!this.echo) this.take()
      const delayUs = pick(spec.delay)
      if (delayUs === 0) this.ready()
      else waitOut(req, t0, delayUs, () => this.ready(), () => this.abort())
    }

    /** Reads the body from now on: to the echo, or to nowhere. */
    take (): void {
      this.req.on('data', (chunk: Buffer) => this.data(chunk))
      this.req.once('end', () => this.ended())
    }

    data (chunk: Buffer): void {
      if (this.settled) return
      this.read += chunk.length
      if (this.read > maxSize) return this.tooLarge()
      if (!this.echo) return
      this.sent += chunk.length
      if (!this.res.write(chunk)) {
        this.req.pause()
        this.res.once('drain', () => this.req.resume())
      }
    }

    ended (): void {
      this.bodyDone = true
      reading(this.req, false)
      if (this.settled) return
      if (this.echo) this.finish(() => this.res.end())
      else if (this.us >= 0) this.reply()
    }

    /** The delay is over: the head is ready. */
    ready (): void {
      if (this.settled) return
      this.us = Math.round((performance.now() - this.t0) * 1000)
      if (!this.echo) {
        if (this.bodyDone) this.reply()
        return
      }
      if (!this.req.socket.writable) return this.abort()
      const req = this.req
      const type = this.shape.headers.contentType ?? requestType(req)
      const fixed = ['Content-Type', type, 'X-Content-Type-Options', 'nosniff', 'Content-Security-Policy', 'sandbox']
      // A chunked body comes back chunked; one with a length, or none, with that length.
      const length = req.headers['content-length'] ?? (req.headers['transfer-encoding'] === undefined ? '0' : undefined)
      if (length !== undefined) fixed.push('Content-Length', length)
      fixed.push('Server-Timing', serverTiming(this.us))
      this.res.writeHead(this.status, headers(fixed, this.shape, this.close || sayClose()))
      this.take()
    }

    /** Not the echo: the prepared answer, once the body is in and the head ready. */
    reply (): void {
      if (!this.req.socket.writable) return this.abort()
      this.finish(() => { this.sent = writeAnswer(this.res, this.status, serverTiming(this.us), this.payload, this.shape, this.close || sayClose(), false) })
    }

    /** Ends the response with `end`; one queued behind another is settled when it is written or lost. */
    finish (end: () => void): void {
      end()
      if (this.res.socket === null && !this.settled) queued.add(this.res, this)
    }

    /** Past MAX_SIZE (chunked: a Content-Length above it never gets here). */
    tooLarge (): void {
      if (this.res.headersSent) {
        // The echo has begun and cannot turn into a 413: cut it.
        this.abort()
        this.res.destroy()
        return
      }
      this.settled = true
      reading(this.req, false)
      tally.unmeasured(this.scan)
      sendError(this.res, new ApiError('BODY_TOO_LARGE', `the chunked body passed MAX_SIZE (${formatSize(maxSize)}): send at most that much`), { connection: 'close' })
    }

    answered (): void {
      if (this.settled) return
      this.settled = true
      tally.answered(this.status, this.us, this.scan, this.read, this.sent)
    }

    abort (): void {
      if (this.settled) return
      this.settled = true
      reading(this.req, false)
      tally.aborted(this.scan, this.read)
    }
  }

  return function upload (req, res, t0, spec, scan) {
    const length = req.headers['content-length']
    if (length !== undefined && Number(length) > maxSize) {
      tally.unmeasured(scan)
      return sendError(res, tooLarge(Number(length), maxSize), { connection: 'close' })
    }
    new Upload(req, res, t0, scan, spec) // eslint-disable-line no-new
  }
}

/** The 413 of a Content-Length above MAX_SIZE. */
export function tooLarge (length: number, maxSize: number): ApiError {
  return new ApiError('BODY_TOO_LARGE', `the body (Content-Length: ${length}) is larger than MAX_SIZE (${formatSize(maxSize)})`)
}

/** The echo's Content-Type: the request's, when it can be sent back as it is. */
function requestType (req: IncomingMessage): string {
  const type = req.headers['content-type']
  return type !== undefined && fieldValue(type) ? type : OCTETS
}
