// An HTTP/1.1 response parser for the open loop's connections
// (http1-connection.ts): bytes in, one head and one end per response out.
//
// It reads what RFC 9112 §6.3 says decides a response's length: no body
// after a HEAD request or for 1xx, 204 and 304; otherwise chunked when
// Transfer-Encoding ends in chunked, else Content-Length, else everything
// until the server closes. Interim 1xx responses are skipped. Of the header
// fields it keeps only what the load generator uses: the status, the
// Server-Timing lines and whether the connection closes after this response.
// Anything malformed throws a ParseError; the connection then fails what it
// has outstanding and closes, as a client must once framing is lost.

/** Head, or one chunk-size or trailer line, at most this long. */
const MAX_HEAD = 64 * 1024
const MAX_LINE = 4096
const CRLF2 = Buffer.from('\r\n\r\n')
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: [^\r\n]*)?$/
const CHUNK_SIZE = /^([0-9A-Fa-f]{1,12})[ \t]*(?:;[^\r\n]*)?$/

export class ParseError extends Error {
  readonly code = 'HPE_INVALID_RESPONSE'
}

export interface ResponseEvents {
  /** A final (non-1xx) response head. */
  onHead: (status: number, serverTiming: string | undefined) => void
  onBody: (bytes: number) => void
  /** The response is complete; `close`: the server closes the connection after it. */
  onEnd: (close: boolean) => void
}

const enum State { Head, Length, ChunkSize, ChunkData, ChunkEnd, Trailer, UntilClose, Stopped }

export class ResponseParser {
  readonly #events: ResponseEvents
  /** Every request on this connection is a HEAD: no response has a body. */
  readonly #head: boolean
  #state = State.Head
  /** Unfinished line-oriented input (a head, a chunk-size or trailer line). */
  #pending: Buffer | undefined
  /** Body or chunk bytes still to come, or CRLF bytes after a chunk. */
  #remaining = 0
  #close = false

  constructor (events: ResponseEvents, head: boolean) {
    this.#events = events
    this.#head = head
  }

  /** Between responses, nothing of the next one read yet. */
  get idle (): boolean {
    return this.#state === State.Head && this.#pending === undefined
  }

  /** No more input is read, not even the rest of the current buffer. */
  stop (): void {
    this.#state = State.Stopped
    this.#pending = undefined
  }

  /** Reads `chunk`; throws ParseError on malformed input. */
  execute (chunk: Buffer): void {
    let buf = chunk
    if (this.#pending !== undefined) {
      buf = Buffer.concat([this.#pending, chunk])
      this.#pending = undefined
    }
    let at = 0
    while (at < buf.length) {
      switch (this.#state) {
        case State.Stopped:
          return
        case State.Head: {
          const end = buf.indexOf(CRLF2, at)
          if (end < 0) return this.#keep(buf, at, MAX_HEAD, 'response head')
          if (end - at > MAX_HEAD) throw new ParseError(`a response head over ${MAX_HEAD} bytes`)
          this.#readHead(buf.toString('latin1', at, end))
          at = end + 4
          break
        }
        case State.Length:
        case State.UntilClose:
        case State.ChunkData: {
          const n = Math.min(this.#remaining, buf.length - at)
          this.#events.onBody(n)
          at += n
          if (this.#state === State.UntilClose) break
          this.#remaining -= n
          if (this.#remaining > 0) break
          if (this.#state === State.Length) this.#end()
          else { this.#state = State.ChunkEnd; this.#remaining = 2 }
          break
        }
        case State.ChunkEnd: {
          // The CRLF after a chunk's data, possibly split across reads.
          const want = this.#remaining === 2 ? 0x0d : 0x0a
          if (buf[at] !== want) throw new ParseError('no CRLF after a chunk')
          at++
          if (--this.#remaining === 0) this.#state = State.ChunkSize
          break
        }
        case State.ChunkSize:
        case State.Trailer: {
          const end = buf.indexOf(0x0a, at)
          if (end < 0) return this.#keep(buf, at, MAX_LINE, 'chunk line')
          if (end === at || buf[end - 1] !== 0x0d || end - at > MAX_LINE) throw new ParseError('a malformed chunk line')
          const line = buf.toString('latin1', at, end - 1)
          at = end + 1
          if (this.#state === State.Trailer) {
            if (line === '') this.#end()
            break
          }
          const m = CHUNK_SIZE.exec(line)
          if (m === null) throw new ParseError(`a malformed chunk size ${JSON.stringify(line.slice(0, 40))}`)
          this.#remaining = Number.parseInt(m[1] as string, 16)
          this.#state = this.#remaining === 0 ? State.Trailer : State.ChunkData
          break
        }
      }
    }
  }

  /** The server closed its side: ends a response read until close; throws if one was cut short. */
  finish (): void {
    if (this.#state === State.UntilClose) { this.#end(); return }
    if (this.#state !== State.Stopped && !this.idle) throw new ParseError('the server closed the connection in the middle of a response')
  }

  #keep (buf: Buffer, at: number, max: number, what: string): void {
    if (buf.length - at > max) throw new ParseError(`a ${what} over ${max} bytes`)
    this.#pending = buf.subarray(at)
  }

  #readHead (text: string): void {
    const lines = text.split('\r\n')
    const m = STATUS_LINE.exec(lines[0] as string)
    if (m === null) throw new ParseError(`not an HTTP/1.x status line: ${JSON.stringify((lines[0] as string).slice(0, 60))}`)
    const minor = m[1] as string
    const status = Number(m[2])
    let length = -1
    let chunked = false
    let coded = false
    let close = minor === '0'
    let serverTiming: string | undefined
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string
      const colon = line.indexOf(':')
      if (colon <= 0 || line.charCodeAt(0) === 0x20 || line.charCodeAt(0) === 0x09) throw new ParseError(`a malformed header line ${JSON.stringify(line.slice(0, 60))}`)
      const name = line.slice(0, colon).toLowerCase()
      const value = line.slice(colon + 1).trim()
      if (name === 'content-length') {
        if (!/^\d{1,15}$/.test(value) || (length >= 0 && length !== Number(value))) throw new ParseError(`an invalid Content-Length ${JSON.stringify(value.slice(0, 40))}`)
        length = Number(value)
      } else if (name === 'transfer-encoding') {
        coded = true
        chunked = /(?:^|,)\s*chunked\s*$/i.test(value)
      } else if (name === 'connection') {
        const tokens = value.toLowerCase().split(',').map((t) => t.trim())
        if (tokens.includes('close')) close = true
        else if (minor === '0' && tokens.includes('keep-alive')) close = false
      } else if (name === 'server-timing') {
        serverTiming = serverTiming === undefined ? value : `${serverTiming}, ${value}`
      }
    }
    if (status < 200) {
      if (status === 101) throw new ParseError('101 Switching Protocols: the load generator does not upgrade connections')
      return // An interim response: the final one follows.
    }
    this.#close = close
    this.#events.onHead(status, serverTiming)
    if (this.#head || status === 204 || status === 304) {
      this.#end()
    } else if (coded) {
      // Transfer-Encoding overrides Content-Length; not ending in chunked: until close.
      if (chunked) this.#state = State.ChunkSize
      else { this.#state = State.UntilClose; this.#remaining = Number.POSITIVE_INFINITY; this.#close = true }
    } else if (length > 0) {
      this.#state = State.Length
      this.#remaining = length
    } else if (length === 0) {
      this.#end()
    } else {
      this.#state = State.UntilClose
      this.#remaining = Number.POSITIVE_INFINITY
      this.#close = true
    }
  }

  #end (): void {
    this.#state = State.Head
    this.#remaining = 0
    this.#events.onEnd(this.#close)
  }
}
