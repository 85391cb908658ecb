// How a connection ends without a reset, and how a listener stops without
// losing a request. Closing a socket whose receive buffer still holds bytes
// makes the kernel send RST instead of FIN, and a reset can discard a
// response the client had not read yet; so a connection is only ever ended
// with a FIN (shutdown(SHUT_WR), `socket.end()`), after which everything the
// peer still sends is read and dropped until it closes its side too (nginx's
// lingering close), bounded by LINGER_MS.

import net, { type Server } from 'node:net'
import type { Duplex } from 'node:stream'

/** How long a half-closed connection waits for the peer's FIN before it is destroyed, in ms. */
export const LINGER_MS = 2000
/**
 * While the server stops: a connection with no response in progress whose
 * peer sent nothing for a whole sweep, 250 ms to 500 ms, is ended. A client
 * between two requests of a busy loop sends its next one well within that;
 * a pooled connection that stays quiet that long is idle.
 */
export const QUIET_MS = 250

/** How long no new connection must arrive before the listener closes (see GracefulClose#settle), in ms. */
export const SETTLE_MS = 50
/** The longest wait for that, in ms. */
export const SETTLE_MAX_MS = 1000

/** Ends `socket` with a FIN, then reads and drops what the peer still sends until it closes, at most `lingerMs`. */
export function lingeringClose (socket: Duplex, lingerMs = LINGER_MS): void {
  if (socket.destroyed) return
  if (!socket.writableEnded) socket.end()
  // Node's http parser keeps consuming what arrives; a request it still
  // emits finds the socket no longer writable, and its response is never
  // written (counted as aborted). Once the peer's FIN arrives too, the
  // socket destroys itself (autoDestroy).
  const timer = setTimeout(() => socket.destroy(), lingerMs)
  timer.unref()
  socket.once('close', () => clearTimeout(timer))
}

/** A response in progress on `socket` (node:http's own field, as connection-guard.ts reads it). */
function busy (socket: Duplex): boolean {
  return (socket as unknown as { _httpMessage?: object | null })._httpMessage != null
}

/**
 * The connections of one http.Server, closed gracefully. Every connection a
 * response ends (`Connection: close`, where node:http calls `destroySoon()`:
 * FIN, then destroy once written, which resets a peer whose next request is
 * already on its way) gets a lingering close instead.
 */
export class GracefulClose {
  /** Whether responses say `Connection: close` now (server.ts reads it per response). */
  sayClose = false
  readonly #server: Server
  readonly #sockets = new Set<net.Socket>()
  #accepted = 0

  constructor (server: Server) {
    this.#server = server
    server.on('connection', (socket: net.Socket) => {
      this.#accepted++
      this.#sockets.add(socket)
      socket.destroySoon = () => lingeringClose(socket)
      socket.once('close', () => this.#sockets.delete(socket))
    })
  }

  /** From now on every response says Connection: close (SHUTDOWN_DELAY_MS). */
  drain (): void {
    this.sayClose = true
  }

  /**
   * Stops accepting, then ends each connection at a moment no request is
   * lost: one with a response in progress ends after it (its response says
   * Connection: close), one with none once its peer has sent nothing for a
   * sweep (QUIET_MS). Resolves when every connection is closed, or at
   * `deadline`, when what is left is destroyed.
   */
  async close (deadline: Promise<void>): Promise<void> {
    await this.#settle(deadline)
    this.sayClose = true
    const server = this.#server
    // http.Server.close() would also destroy at once every connection node
    // deems idle: a fresh one whose first request is still unread in the
    // kernel's buffer among them, which resets it. net's close only stops
    // accepting.
    const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()))
    const lastRead = new Map<net.Socket, number>()
    const sweep = (): void => {
      for (const socket of this.#sockets) {
        if (socket.writableEnded) continue
        if (busy(socket)) { lastRead.delete(socket); continue }
        const read = socket.bytesRead
        if (lastRead.get(socket) === read) lingeringClose(socket)
        else lastRead.set(socket, read)
      }
    }
    sweep()
    const timer = setInterval(sweep, QUIET_MS)
    await Promise.race([closed, deadline])
    clearInterval(timer)
    if (server.listening) net.Server.prototype.close.call(server)
    for (const socket of this.#sockets) socket.destroy()
  }

  /**
   * Closing a listener resets every connection still waiting in the
   * kernel's accept queue, and under a load that reconnects after each
   * `Connection: close` that queue is rarely empty. So responses keep their
   * connections alive for a moment, clients stop reconnecting, and the
   * listener closes once a sweep of SETTLE_MS saw no new connection: node
   * accepts whatever is queued on every turn of its event loop, so the queue
   * is then empty. At most SETTLE_MAX_MS, as a client that opens a
   * connection per request never settles.
   */
  async #settle (deadline: Promise<void>): Promise<void> {
    this.sayClose = false
    await new Promise<void>((resolve) => {
      let seen = -1
      const started = performance.now()
      const check = (): void => {
        if (this.#accepted === seen || performance.now() - started >= SETTLE_MAX_MS) { clearInterval(timer); resolve(); return }
        seen = this.#accepted
      }
      const timer = setInterval(check, SETTLE_MS)
      check()
      deadline.then(() => { clearInterval(timer); resolve() }, () => {})
    })
  }
}
