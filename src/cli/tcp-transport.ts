// The transport of `podmeter load tcp://…` (transport.ts): TCP echo
// connections (tcp-connection.ts), one sweep a run for their timeouts, and
// what the engine does not count for HTTP: the connect time of every
// connection, the bytes of the measured messages written, and their
// failures by the kinds a TCP echo has (a closed or short echo, a mismatch).

import { Track } from './recorder.js'
import { type Message, TcpConnection } from './tcp-connection.js'
import type { Transport, TransportConnection } from './transport.js'

/** How a measured message failed, but by timeout: the engine counts those, with the run's own end. */
export type TcpFailure = 'refused' | 'reset' | 'closed' | 'short' | 'mismatch' | 'other'
export const TCP_FAILURES: readonly TcpFailure[] = ['refused', 'reset', 'closed', 'short', 'mismatch', 'other']

/** Sorts a failure by what a person would do about it; undefined for a timeout. */
export function tcpFailure (err: Error & { code?: string }): TcpFailure | undefined {
  switch (err.code) {
    case 'ETIMEDOUT': return undefined
    case 'ECONNREFUSED': return 'refused'
    case 'ECONNRESET':
    case 'EPIPE': return 'reset'
    case 'ECHO_CLOSED': return 'closed'
    case 'ECHO_SHORT': return 'short'
    case 'ECHO_MISMATCH': return 'mismatch'
    default: return 'other'
  }
}

export interface TcpTarget {
  host: string
  port: number
  payload: Buffer
  timeoutMs: number
}

export class TcpTransport implements Transport<Message> {
  /** Every connect that succeeded, from the ask to the connection, µs; warm-up included. */
  readonly connect = new Track()
  /** Bytes of the measured messages written. */
  bytesSent = 0
  /** The measured messages' failures by kind, and the first message of each. */
  readonly failures: Record<TcpFailure, number> = { refused: 0, reset: 0, closed: 0, short: 0, mismatch: 0, other: 0 }
  readonly examples: Partial<Record<TcpFailure, string>> = {}
  readonly #target: TcpTarget
  readonly #connections: TcpConnection[] = []
  readonly #sweep: NodeJS.Timeout

  constructor (target: TcpTarget) {
    this.#target = target
    // A timeout is noticed within a tenth of itself (at least 10 ms, at most 1 s late).
    const period = Math.min(1000, Math.max(10, target.timeoutMs / 10))
    this.#sweep = setInterval(() => {
      const now = performance.now()
      for (const c of this.#connections) c.sweep(now)
    }, period)
    this.#sweep.unref()
  }

  connection (onConnect: () => void): TransportConnection<Message> {
    const { host, port, payload, timeoutMs } = this.#target
    const c = new TcpConnection({
      host,
      port,
      payload,
      timeoutMs,
      onConnect: (ms) => { this.connect.record(Math.round(ms * 1000)); onConnect() },
      onWritten: (message) => { if (message.measured) this.bytesSent += payload.length },
      onFailed: (message, err) => {
        const kind = tcpFailure(err)
        if (!message.measured || kind === undefined) return
        this.failures[kind]++
        this.examples[kind] ??= `${err.code ?? err.name}: ${err.message}`.slice(0, 300)
      }
    })
    this.#connections.push(c)
    return c
  }

  async close (): Promise<void> {
    clearInterval(this.#sweep)
    for (const c of this.#connections) c.destroy()
  }
}
