// What reaches node:http but never a request handler: connections beyond
// MAX_CONNECTIONS, requests the parser refuses (malformed, headers too large,
// too slow), CONNECT, and Expect headers other than 100-continue. Node answers
// most of these itself with a bare status line; here each gets the same JSON
// error body as every other error (with nosniff), and a count in /stats, so
// nothing is refused silently. None of it is on the hot path: node calls these
// listeners only when something is already wrong, or once per connection.
//
// The figures are counters in the shared buffer, each shard's (HTTP_THREADS)
// by its own thread, so /stats sums them over every thread; MAX_CONNECTIONS
// is the cap on that sum, not on each thread's share.

import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { ApiError } from '../shared/errors.js'
import { C, inc, read, readCounter, REFUSED_STATUS, type Views } from '../shared/layout.js'
import { json, sendError } from './reply.js'
import { codingError } from './request-edge.js'

export type Refused = `${typeof REFUSED_STATUS[number]}`

export interface ConnectionFigures {
  /** Open connections now. */
  connections_open: number
  /** Connections closed at once because MAX_CONNECTIONS were open, since start or reset. */
  connections_rejected: number
  /** Requests refused before a handler saw them, by status, since start or reset. */
  requests_refused: Record<Refused, number>
}

/** Allow header of each path, for a 405 to a method the parser does not know. */
export type AllowOf = (path: string) => string | undefined

const TOKEN = /^[!#$%&'*+.^_`|~\w-]{1,64}$/
/**
 * After an error response, how long the rest of what the client sends is read
 * and dropped before the socket is destroyed (nginx's lingering close):
 * closing with unread data makes the kernel send a reset, which can discard
 * the response before the client reads it.
 */
const LINGER_MS = 2000

/** Sockets the server is handed that are not clients' (the shard threads' relay): never counted nor capped. */
const internal = new WeakSet<Duplex>()
export function internalConnection (socket: Duplex): void { internal.add(socket) }

export class ConnectionGuard {
  /** This shard's memory (for writing) and every shard's (for the figures). */
  readonly #views: Views
  readonly #counters: Uint32Array
  readonly #allowOf: AllowOf
  /** Sockets with a refused request: what the client pipelined after it is never served. */
  readonly #closing = new WeakSet<Duplex>()
  /** The request whose body a handler reads on each socket (POST /, upload.ts). */
  readonly #bodies = new WeakMap<Duplex, IncomingMessage>()

  constructor (server: Server, views: Views, maxConnections: number, allowOf: AllowOf) {
    this.#views = views
    this.#counters = views.counters
    this.#allowOf = allowOf
    // Node's own cap stays as a backstop; the cap that counts is the sum over the shards.
    server.maxConnections = maxConnections
    server.on('drop', () => { inc(this.#counters, C.CONNECTIONS_REJECTED) })
    server.on('connection', (socket: Duplex) => {
      if (internal.has(socket)) return
      // Counted first and checked after: two threads admitting at once can
      // only both refuse, never both pass the cap.
      inc(this.#counters, C.CONNECTIONS_OPENED)
      socket.once('close', () => { inc(this.#counters, C.CONNECTIONS_CLOSED) })
      if (this.#openNow() > maxConnections) {
        inc(this.#counters, C.CONNECTIONS_REJECTED)
        socket.destroy()
      }
    })
    server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer, bytesParsed?: number }, socket: Duplex) => this.#clientError(err, socket))
    server.on('connect', (req: IncomingMessage, socket: Duplex) => {
      this.#reply(socket, new ApiError('METHOD_NOT_ALLOWED', `CONNECT ${req.url?.slice(0, 200) ?? ''}: PodMeter is not a proxy`), 'GET, HEAD, POST')
    })
    server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
      this.#count(417)
      sendError(res, new ApiError('EXPECTATION_FAILED', `Expect: ${String(req.headers.expect).slice(0, 200)} cannot be met: the only Expect this server meets is 100-continue`), { connection: 'close' })
    })
  }

  /**
   * Refuses a request whose framing is wrong (request-edge.ts) before any
   * handler runs: counted as refused, answered, and the connection closed.
   * When it is the connection's current request the answer goes straight to
   * the socket, which then lingers as after a parser error; when it waits
   * behind another response it is answered in its turn, and counted once
   * sent (if the connection is cut first, the cut is what gets counted).
   */
  refuse (req: IncomingMessage, res: ServerResponse, err: ApiError): void {
    this.#closing.add(req.socket)
    if (res.socket !== null) { this.#reply(req.socket, err); return }
    res.once('finish', () => { this.#count(err.status) })
    sendError(res, err, { connection: 'close' })
  }

  /**
   * A handler reads `req`'s body (`on`), or no longer does. Until it has
   * arrived whole, a parse error on its connection is in that body: the
   * request it belongs to ends unanswered and its handler counts it
   * (aborted), so the connection is cut rather than answered 400 and
   * counted as refused too.
   */
  reading (req: IncomingMessage, on: boolean): void {
    if (on) this.#bodies.set(req.socket, req)
    else if (this.#bodies.get(req.socket) === req) this.#bodies.delete(req.socket)
  }

  /** True when `socket` carried a refused request: nothing more on it is served. */
  closing (socket: Duplex): boolean {
    return this.#closing.has(socket)
  }

  /** Summed over every shard; the open count is a level, which a reset leaves alone. */
  figures (): ConnectionFigures {
    const refused = {} as Record<Refused, number>
    REFUSED_STATUS.forEach((status, i) => { refused[`${status}`] = readCounter(this.#views, C.REFUSED + i) })
    return { connections_open: this.#openNow(), connections_rejected: readCounter(this.#views, C.CONNECTIONS_REJECTED), requests_refused: refused }
  }

  /** Closed read before opened, so a connection that opens and closes between the two never makes it negative. */
  #openNow (): number {
    let closed = 0
    for (const s of this.#views.shards) closed += read(s.counters, C.CONNECTIONS_CLOSED)
    return readCounter(this.#views, C.CONNECTIONS_OPENED) - closed
  }

  #clientError (err: NodeJS.ErrnoException & { rawPacket?: Buffer, bytesParsed?: number }, socket: Duplex): void {
    // Already answered (the parser reports again on every chunk while we
    // linger): nothing more to say.
    if (socket.writableEnded) return
    if (err.code === 'ECONNRESET' || !socket.writable) { socket.destroy(); return }
    if (this.#bodies.get(socket)?.complete === false) { socket.destroy(); return }
    // As node does by default: answer only when no response of this socket
    // has begun, or our bytes would land inside it.
    const inFlight = (socket as unknown as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage
    if (inFlight?.headersSent === true) { socket.destroy(); return }
    // A response still waiting (a delayed GET) is cut with the socket, as
    // node does, so it ends counted as aborted rather than sent into a closed
    // connection; only without one does the socket linger.
    const [error, allow] = this.#answer(err)
    this.#reply(socket, error, allow, inFlight == null)
  }

  #answer (err: NodeJS.ErrnoException & { rawPacket?: Buffer, bytesParsed?: number }): [ApiError, string?] {
    switch (err.code) {
      case 'HPE_HEADER_OVERFLOW':
        return [new ApiError('HEADERS_TOO_LARGE', `the request line and headers are larger than ${http.maxHeaderSize} bytes`)]
      case 'ERR_HTTP_REQUEST_TIMEOUT':
        return [new ApiError('REQUEST_TIMEOUT')]
      case 'HPE_INVALID_TRANSFER_ENCODING':
        return [codingError()]
      case 'HPE_INVALID_METHOD': {
        // A well-formed request line with a method node does not know is a
        // method this endpoint does not allow; anything else is garbage.
        const line = requestLine(err.rawPacket, err.bytesParsed ?? 0)
        const allow = line === undefined ? undefined : this.#allowOf(line.path)
        if (line !== undefined && allow !== undefined) return [new ApiError('METHOD_NOT_ALLOWED', `${line.method} is not allowed on ${line.path}: use ${allow}`), allow]
      }
    }
    return [new ApiError('BAD_REQUEST', `the request is not valid HTTP/1.1 (${String(err.code)})`)]
  }

  #count (status: number): void {
    const i = (REFUSED_STATUS as readonly number[]).indexOf(status)
    if (i >= 0) inc(this.#counters, C.REFUSED + i)
  }

  /** Writes an error response straight to the socket (there is no response object) and closes it. */
  #reply (socket: Duplex, err: ApiError, allow?: string, linger = true): void {
    const status = String(err.status)
    this.#count(err.status)
    const body = json(err)
    const head = [
      `HTTP/1.1 ${status} ${http.STATUS_CODES[err.status] ?? ''}`,
      'Content-Type: application/json; charset=utf-8',
      'X-Content-Type-Options: nosniff',
      'Cache-Control: no-store',
      `Content-Length: ${Buffer.byteLength(body)}`,
      ...(allow === undefined ? [] : [`Allow: ${allow}`]),
      'Connection: close'
    ]
    if (!linger) { socket.end(head.join('\r\n') + '\r\n\r\n' + body, () => socket.destroy()); return }
    socket.end(head.join('\r\n') + '\r\n\r\n' + body)
    socket.resume()
    // Once the client has closed its side too, node destroys the socket.
    const timer = setTimeout(() => socket.destroy(), LINGER_MS)
    timer.unref()
    socket.once('close', () => clearTimeout(timer))
  }
}

/** The method and path of the request line around `at` in `raw`, when it is well formed. */
export function requestLine (raw: Buffer | undefined, at: number): { method: string, path: string } | undefined {
  if (raw === undefined) return undefined
  const start = raw.lastIndexOf(10, Math.max(0, at - 1)) + 1
  const end = raw.indexOf(13, start)
  if (end < 0 || end - start > 8192) return undefined
  const parts = raw.subarray(start, end).toString('latin1').split(' ')
  if (parts.length !== 3 || !TOKEN.test(parts[0] as string) || !/^HTTP\/1\.[01]$/.test(parts[2] as string)) return undefined
  const target = parts[1] as string
  if (!target.startsWith('/')) return undefined
  const q = target.indexOf('?')
  return { method: parts[0] as string, path: q < 0 ? target : target.slice(0, q) }
}
