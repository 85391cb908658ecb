// The open loop's connections: http1-connection.ts on plain sockets, the
// request serialised once, and one sweep a run for the timeouts.

import { type Exchange, Http1Connection, serializeRequest, sweepEvery } from './http1-connection.js'
import type { LoadOptions } from './load-options.js'
import type { Transport, TransportConnection } from './transport.js'

export class LeanTransport implements Transport<Exchange> {
  readonly #options: LoadOptions
  readonly #request: Buffer
  readonly #connections: Http1Connection[] = []
  readonly #sweep: NodeJS.Timeout

  constructor (options: LoadOptions) {
    this.#options = options
    this.#request = serializeRequest(options.url, options.method, options.headers, options.body)
    const timeoutMs = options.timeoutUs / 1000
    // A timeout is noticed within a tenth of itself (at least 10 ms, at most 1 s late).
    this.#sweep = sweepEvery(this.#connections, Math.min(1000, Math.max(10, timeoutMs / 10)))
  }

  connection (onConnect: () => void): TransportConnection<Exchange> {
    const c = new Http1Connection({
      url: this.#options.url,
      request: this.#request,
      head: this.#options.method === 'HEAD',
      timeoutMs: this.#options.timeoutUs / 1000,
      onConnect
    })
    this.#connections.push(c)
    return c
  }

  async close (): Promise<void> {
    clearInterval(this.#sweep)
    for (const c of this.#connections) c.destroy()
  }
}
