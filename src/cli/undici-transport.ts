// The closed loop's connections: one undici Client per connection, driven
// through its low-level dispatch with the engine's reusable slot as the
// handler, so a request allocates nothing of ours (undici still builds its
// Request). Clients are created with pipelining ≥ 2 so that a slot
// dispatching its next request from onResponseEnd writes it at once: with
// pipelining 1 undici waits a whole event-loop turn before reusing a
// socket, which cost about a quarter of the request rate here. This module
// is imported only when a closed-loop run starts, so an open-loop run never
// loads undici.

import { Client, type Dispatcher } from 'undici'
import type { LoadOptions } from './load-options.js'
import type { Transport, TransportConnection } from './transport.js'

export class UndiciTransport implements Transport<Dispatcher.DispatchHandler> {
  readonly #options: LoadOptions
  readonly #dispatch: Dispatcher.DispatchOptions
  readonly #clients: Client[] = []

  constructor (options: LoadOptions) {
    this.#options = options
    const url = options.url
    this.#dispatch = {
      path: url.pathname + url.search,
      method: options.method,
      headers: options.headers,
      body: options.body ?? null,
      // Keep GETs pipelined when asked, and HEAD on its connection.
      blocking: false,
      reset: false
    }
  }

  connection (onConnect: () => void): TransportConnection<Dispatcher.DispatchHandler> {
    const timeoutMs = this.#options.timeoutUs / 1000
    const client = new Client(this.#options.url.origin, {
      pipelining: Math.max(2, this.#options.pipelining),
      connectTimeout: timeoutMs,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      keepAliveTimeout: 60_000
    })
    client.on('connect', onConnect)
    this.#clients.push(client)
    const dispatch = this.#dispatch
    return { send: (handler) => { client.dispatch(dispatch, handler) } }
  }

  async close (): Promise<void> {
    await Promise.allSettled(this.#clients.map(async (c) => await c.destroy()))
  }
}
