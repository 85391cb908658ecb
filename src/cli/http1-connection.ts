// One keep-alive HTTP/1.1 connection for the open loop, on a plain
// net.Socket (tls.TLSSocket for https:).
//
// The open loop must sleep between requests at a low CPU cost: at 1,000
// req/s undici's Client spent about 150 µs of CPU per request here (its
// idle-socket check costs an event-loop turn per request, and loading it
// and compiling llhttp's WebAssembly about 0.4 s), a bare socket about 95.
// This connection does only what a load generator needs: it writes one
// request built once, in order, pipelined when asked, and reads responses
// with http1-parser.ts. The closed loop stays on undici, which keeps up
// with it at full speed (docs/client.md).
//
// Requests are written at once; when the socket is still connecting they
// are written on connect, and their send time is taken then. A response
// that says `Connection: close` (or an HTTP/1.0 one) ends the socket after
// it; the next request opens a new one. When the socket fails or closes,
// everything outstanding on it fails with the reason. Timeouts are checked
// by one sweep over all connections (sweep()), not a timer per request.

import net from 'node:net'
import tls from 'node:tls'
import { ParseError, ResponseParser } from './http1-parser.js'

/** One request and its response, as the engine sees them. */
export interface Exchange {
  /** The request is being written to the socket. */
  onWritten: () => void
  onHead: (status: number, serverTiming: string | undefined) => void
  onBody: (bytes: number) => void
  onDone: () => void
  onFail: (err: Error) => void
}

/** A failure with a code errorKind() sorts: ETIMEDOUT, ECONNRESET. */
export class ConnectionError extends Error {
  readonly code: string
  constructor (code: string, message: string) {
    super(message)
    this.code = code
  }
}

/** The request line, Host, the -H headers and the body, serialised once for every request of a run. */
export function serializeRequest (url: URL, method: string, headers: readonly string[], body: Buffer | undefined): Buffer {
  let head = `${method} ${url.pathname}${url.search} HTTP/1.1\r\n`
  let host = false
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string
    if (name.toLowerCase() === 'host') host = true
    head += `${name}: ${headers[i + 1] as string}\r\n`
  }
  if (!host) head = head.replace('\r\n', `\r\nhost: ${url.host}\r\n`)
  if (body !== undefined) head += `content-length: ${body.length}\r\n`
  const start = Buffer.from(`${head}\r\n`, 'latin1')
  return body === undefined ? start : Buffer.concat([start, body])
}

export interface ConnectionOptions {
  url: URL
  request: Buffer
  /** The request is a HEAD: responses have no body. */
  head: boolean
  /** Connect, and the silence while a response is awaited, at most this long. */
  timeoutMs: number
  /** A socket is connected (and, for https:, its TLS handshake done). */
  onConnect: () => void
}

export class Http1Connection {
  readonly #options: ConnectionOptions
  #socket: net.Socket | undefined
  #parser: ResponseParser | undefined
  #connected = false
  /** Written and not yet answered, oldest first. */
  readonly #outstanding: Exchange[] = []
  /** Waiting for the socket to connect. */
  readonly #unwritten: Exchange[] = []
  /** performance.now() of the last connect, write or read. */
  #active = 0

  constructor (options: ConnectionOptions) {
    this.#options = options
  }

  get busy (): boolean {
    return this.#outstanding.length > 0 || this.#unwritten.length > 0
  }

  send (ex: Exchange): void {
    if (this.#socket === undefined) this.#open()
    if (!this.#connected) { this.#unwritten.push(ex); return }
    this.#write(ex)
  }

  /** Fails what waits longer than the timeout: connecting, or silent while a response is due. */
  sweep (now: number): void {
    if (!this.busy || now - this.#active < this.#options.timeoutMs) return
    const what = this.#connected ? 'no response byte' : 'no connection'
    this.#drop(new ConnectionError('ETIMEDOUT', `${what} within ${this.#options.timeoutMs} ms`))
  }

  /** Closes the socket; what is outstanding fails as reset. */
  destroy (): void {
    this.#drop(new ConnectionError('ECONNRESET', 'the run ended with the request outstanding'))
  }

  #open (): void {
    const { url } = this.#options
    const port = Number(url.port !== '' ? url.port : url.protocol === 'https:' ? 443 : 80)
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
    const socket = url.protocol === 'https:'
      ? tls.connect({ host, port, servername: net.isIP(host) === 0 ? host : undefined, ALPNProtocols: ['http/1.1'] })
      : net.connect({ host, port })
    const parser = new ResponseParser({
      onHead: (status, serverTiming) => { this.#outstanding[0]?.onHead(status, serverTiming) },
      onBody: (bytes) => { this.#outstanding[0]?.onBody(bytes) },
      onEnd: (close) => { this.#answered(socket, close) }
    }, this.#options.head)
    this.#socket = socket
    this.#parser = parser
    this.#connected = false
    this.#active = performance.now()
    socket.setNoDelay(true)
    socket.on(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      this.#connected = true
      this.#active = performance.now()
      this.#options.onConnect()
      for (const ex of this.#unwritten.splice(0)) this.#write(ex)
    })
    socket.on('data', (chunk: Buffer) => {
      this.#active = performance.now()
      try {
        parser.execute(chunk)
      } catch (err) {
        if (socket === this.#socket) this.#drop(err instanceof ParseError ? err : new ParseError(String(err)))
      }
    })
    socket.on('end', () => {
      if (socket !== this.#socket) return
      try {
        parser.finish()
      } catch (err) {
        this.#drop(err as Error)
        return
      }
      if (socket === this.#socket) this.#drop(new ConnectionError('ECONNRESET', 'the server closed the connection with the request outstanding'))
    })
    socket.on('error', (err) => { if (socket === this.#socket) this.#drop(err) })
    socket.on('close', () => { if (socket === this.#socket) this.#drop(new ConnectionError('ECONNRESET', 'the connection closed with the request outstanding')) })
  }

  #write (ex: Exchange): void {
    this.#outstanding.push(ex)
    this.#active = performance.now()
    ex.onWritten()
    ;(this.#socket as net.Socket).write(this.#options.request)
  }

  /** The oldest outstanding response is complete. */
  #answered (socket: net.Socket, close: boolean): void {
    const ex = this.#outstanding.shift()
    // Close before the engine sends its next request, so that it goes on a new socket.
    if (close) this.#drop(new ConnectionError('ECONNRESET', 'the server closed the connection (Connection: close) with the request outstanding'))
    else if (this.#outstanding.length === 0) this.#active = performance.now()
    if (socket !== this.#socket && !close) return
    ex?.onDone()
  }

  /** Closes the socket, if any, and fails everything outstanding on it with `err`. */
  #drop (err: Error): void {
    const socket = this.#socket
    if (socket === undefined) return
    this.#socket = undefined
    this.#connected = false
    this.#parser?.stop()
    this.#parser = undefined
    socket.destroy()
    const failed = this.#outstanding.splice(0).concat(this.#unwritten.splice(0))
    for (const ex of failed) ex.onFail(err)
  }
}

/** Checks every connection's timeout every `periodMs` until the returned timer is cleared. */
export function sweepEvery (connections: readonly Http1Connection[], periodMs: number): NodeJS.Timeout {
  const timer = setInterval(() => {
    const now = performance.now()
    for (const c of connections) c.sweep(now)
  }, periodMs)
  timer.unref()
  return timer
}
