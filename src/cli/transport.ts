// How the engine reaches the target: a transport opens connections, and a
// connection sends one slot's request at a time. Two implement it: undici
// for the closed loop (undici-transport.ts), plain sockets for the open loop
// (lean-transport.ts), which must sleep cheaply between requests.

export interface TransportConnection<H> {
  /** Sends the request; `handler` hears of its response or failure (a failure may come inside this call). */
  send: (handler: H) => void
}

export interface Transport<H> {
  /** A new connection; `onConnect` runs each time it (re)connects. */
  connection: (onConnect: () => void) => TransportConnection<H>
  /** Closes every connection; what is outstanding is dropped. */
  close: () => Promise<void>
}
