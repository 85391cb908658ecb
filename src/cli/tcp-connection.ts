// One connection of `podmeter load tcp://…`: a plain net.Socket to a TCP
// echo, carrying one message at a time. A message is the run's payload,
// written whole; it is answered when the same number of bytes came back,
// each one checked against what was sent (the echo may arrive in any number
// of chunks). Nothing is allocated per message.
//
// How a message fails, by the code errorKind() and the TCP report sort:
//   ECONNREFUSED   nothing listens (the connect failed)
//   ECONNRESET     the connection was reset (or closed by an error) with the message outstanding
//   ECHO_CLOSED    the peer closed (FIN) before any byte of the message came back
//   ECHO_SHORT     the peer closed after part of it came back
//   ECHO_MISMATCH  a byte came back that was not sent, or more bytes than were
//   ETIMEDOUT      no connection, or no byte back, within --timeout
// After a failure the socket is gone; the next message opens a new one.

import net from 'node:net'
import type { TransportConnection } from './transport.js'
import type { Exchange } from './http1-connection.js'

/** One message as the engine sees it (its slot): Exchange's callbacks, and whether it is measured. */
export type Message = Exchange & { readonly measured: boolean }

/** A failure with a code: ECHO_CLOSED, ECHO_SHORT, ECHO_MISMATCH, ETIMEDOUT, ECONNRESET. */
export class EchoError extends Error {
  readonly code: string
  constructor (code: string, message: string) {
    super(message)
    this.code = code
  }
}

export interface TcpConnectionOptions {
  host: string
  port: number
  /** The message: written whole, and expected back byte for byte. */
  payload: Buffer
  /** Connect, and the silence while an echo is due, at most this long. */
  timeoutMs: number
  /** A socket connected, `ms` after it was asked for. */
  onConnect: (ms: number) => void
  /** A message written (the transport counts the bytes of those measured). */
  onWritten: (message: Message) => void
  /** A message failed, just before it hears so (the transport sorts the failures of those measured). */
  onFailed: (message: Message, err: Error & { code?: string }) => void
}

export class TcpConnection implements TransportConnection<Message> {
  readonly #options: TcpConnectionOptions
  #socket: net.Socket | undefined
  #connected = false
  /** The message outstanding (written or waiting for the connect), and how many of its bytes came back. */
  #current: Message | undefined
  #got = 0
  /** performance.now() of the last connect, write or read. */
  #active = 0

  constructor (options: TcpConnectionOptions) {
    this.#options = options
  }

  send (message: Message): void {
    this.#current = message
    this.#got = 0
    if (this.#socket === undefined) this.#open()
    else if (this.#connected) this.#write()
  }

  /** Fails the message outstanding if it waited longer than the timeout: connecting, or silent while its echo is due. */
  sweep (now: number): void {
    if (this.#current === undefined || now - this.#active < this.#options.timeoutMs) return
    const what = this.#connected ? `no echo byte within ${this.#options.timeoutMs} ms (${this.#got} of ${this.#options.payload.length} bytes back)` : `no connection within ${this.#options.timeoutMs} ms`
    this.#drop(new EchoError('ETIMEDOUT', what))
  }

  /** Closes the socket at the end of the run; what is outstanding is dropped without a word (the engine has counted it). */
  destroy (): void {
    this.#current = undefined
    this.#drop(undefined)
  }

  #open (): void {
    const { host, port } = this.#options
    const asked = performance.now()
    const socket = net.connect({ host, port, noDelay: true })
    this.#socket = socket
    this.#connected = false
    this.#active = asked
    socket.on('connect', () => {
      const now = performance.now()
      this.#connected = true
      this.#active = now
      this.#options.onConnect(now - asked)
      if (this.#current !== undefined) this.#write()
    })
    socket.on('data', (chunk: Buffer) => { if (socket === this.#socket) this.#read(chunk) })
    socket.on('end', () => {
      if (socket !== this.#socket) return
      if (this.#current === undefined) { this.#drop(undefined); return }
      const n = this.#options.payload.length
      this.#drop(this.#got === 0
        ? new EchoError('ECHO_CLOSED', 'the peer closed the connection (FIN) before any byte of the message came back')
        : new EchoError('ECHO_SHORT', `the peer closed the connection (FIN) after ${this.#got} of ${n} bytes came back`))
    })
    socket.on('error', (err) => { if (socket === this.#socket) this.#drop(err) })
    socket.on('close', () => {
      if (socket === this.#socket) this.#drop(new EchoError('ECONNRESET', `the connection closed with ${this.#got} of ${this.#options.payload.length} bytes back`))
    })
  }

  #write (): void {
    const message = this.#current as Message
    this.#active = performance.now()
    message.onWritten()
    this.#options.onWritten(message)
    ;(this.#socket as net.Socket).write(this.#options.payload)
  }

  #read (chunk: Buffer): void {
    this.#active = performance.now()
    const payload = this.#options.payload
    const got = this.#got
    const message = this.#current
    // Bytes nobody sent, or other bytes than were sent: the stream is no echo of ours any more.
    if (message === undefined || got + chunk.length > payload.length) {
      this.#drop(new EchoError('ECHO_MISMATCH', `${chunk.length} bytes came back with ${message === undefined ? 'no message' : `${payload.length - got} of the message`} outstanding`))
      return
    }
    if (payload.compare(chunk, 0, chunk.length, got, got + chunk.length) !== 0) {
      this.#drop(new EchoError('ECHO_MISMATCH', `the echo differs from the message within its bytes ${got} to ${got + chunk.length}`))
      return
    }
    this.#got = got + chunk.length
    if (this.#got < payload.length) return
    this.#current = undefined
    message.onBody(payload.length)
    message.onDone()
  }

  /** Closes the socket, if any; the message outstanding, if any, fails with `err`. */
  #drop (err: Error | undefined): void {
    const socket = this.#socket
    if (socket === undefined) return
    this.#socket = undefined
    this.#connected = false
    socket.destroy()
    const message = this.#current
    this.#current = undefined
    if (message === undefined || err === undefined) return
    this.#options.onFailed(message, err)
    message.onFail(err)
  }
}
