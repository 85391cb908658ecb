// Whether a queued response reached the client. A response pipelined behind
// another is written by node:http when its turn comes: it emits 'finish' on
// the response once all of it is written to the socket. If the connection
// closes first, the queued responses never are, and get no event of their
// own (node:http's abortIncoming destroys the requests only), so the
// socket's 'close' is the one to watch.
//
// Per connection, one queue of what waits and one 'close' listener; per
// queued response, one 'finish' listener, a shared function, and nothing
// else allocated. A listener pair and two closures per response (the first
// way this was written) cost a 10-pipelined load about 10 % of its CPU
// (bench/results/cpu.md).

import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/** What a connection has waiting: the responses, and beside each the item to settle. */
interface Waiting<T> {
  responses: ServerResponse[]
  items: T[]
  onFinish: (this: ServerResponse) => void
}

export class Deliveries<T> {
  readonly #delivered: (item: T) => void
  readonly #lost: (item: T) => void
  readonly #waiting = new WeakMap<Socket, Waiting<T>>()

  /** `delivered(item)` once a response is completely written; `lost(item)` if its connection closes first; once each. */
  constructor (delivered: (item: T) => void, lost: (item: T) => void) {
    this.#delivered = delivered
    this.#lost = lost
  }

  /** Settles `item` when `res`, already ended and queued behind another response, is written or lost. */
  add (res: ServerResponse, item: T): void {
    const socket = res.req.socket
    let w = this.#waiting.get(socket)
    if (w === undefined) w = this.#watch(socket)
    w.responses.push(res)
    w.items.push(item)
    res.on('finish', w.onFinish)
  }

  #watch (socket: Socket): Waiting<T> {
    const delivered = this.#delivered
    const w: Waiting<T> = {
      responses: [],
      items: [],
      // Node writes a connection's responses in order, so this is nearly
      // always the first one waiting; one already given up is not found.
      onFinish (this: ServerResponse) {
        const i = w.responses.indexOf(this)
        if (i < 0) return
        const item = w.items[i] as T
        w.responses.splice(i, 1)
        w.items.splice(i, 1)
        delivered(item)
      }
    }
    this.#waiting.set(socket, w)
    socket.once('close', () => {
      this.#waiting.delete(socket)
      const lost = w.items
      w.responses = []
      w.items = []
      for (const item of lost) this.#lost(item)
    })
    return w
  }
}
