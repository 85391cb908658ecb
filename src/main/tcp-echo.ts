// The TCP echo listener (TCP_ECHO_PORT): plain TCP, every byte read is
// written back, for what a mesh costs at L4 (ambient's ztunnel) without HTTP
// on top. It has a buffer of its own, of the one layout (layout.ts): its own
// counters, ring and histograms, drained by the same worker, so nothing per
// message asks which listener it is.
//
// A message is what one read returns. Its sample (docs/stats.md, "The TCP
// echo") runs from the moment node hands the chunk to the 'data' listener to
// the moment its echo is handed to the kernel: at once when socket.write()
// completes synchronously (Writable's length is 0 right after it: the send
// buffer had room for all of it), else when libuv has written its last byte
// (the write's callback). It is counted, in messages and bytes out, at that
// same moment; bytes in count as they are read.
//
// Bounded whatever a peer does: TCP_ECHO_MAX_CONNECTIONS connections; reading
// pauses while a connection's write queue is at its high-water mark (a peer
// that sends and never reads), so each holds at most that queue, one read and
// its readable buffer in memory; TCP_ECHO_IDLE_TIMEOUT_MS of silence ends it.

import net, { type AddressInfo, type Socket } from 'node:net'
import { add, C, inc, zeroShardCounters, type Views } from '../shared/layout.js'
import type { RingProducer } from '../shared/ring.js'
import { lingeringClose } from './graceful-close.js'
import { TcpEchoFigures } from './tcp-echo-stats.js'

export interface TcpEchoParts {
  views: Views
  ring: RingProducer
  /** Asks the histogram worker for an early drain (the ring is filling). */
  drainSoon: () => void
  /** TCP_ECHO_MAX_CONNECTIONS. */
  maxConnections: number
  /** TCP_ECHO_IDLE_TIMEOUT_MS; 0 never. */
  idleTimeoutMs: number
  /** WINDOW_SECONDS, for the window's message rate. */
  windowSeconds: number
}

export interface RunningTcpEcho {
  port: number
  /** tcp://host:port */
  url: string
  /** Its /stats block and /metrics series. */
  figures: TcpEchoFigures
  /** This listener's part of POST /stats/reset: zeroes its counters (open connections stay counted) and fences its ring. */
  resetCounters: () => void
  /**
   * Stops accepting, then ends every connection with a FIN once the echoes
   * already read are written; what arrives after that is read and dropped
   * (lingering close). Resolves when all are closed, or at `deadline`, when
   * what is left is destroyed.
   */
  close: (deadline: Promise<void>) => Promise<void>
}

/** One echo connection. Every listener here runs on the main thread, with no allocation per message but the chunk node reads. */
class EchoConnection {
  readonly socket: Socket
  readonly #echo: EchoCounting
  /**
   * Per write not yet handed to the kernel, oldest first: its read time (-1
   * when it was recorded at once) and its length. Writes complete in order,
   * and every one ends in its callback, so the callback takes the head.
   */
  readonly #queue: number[] = []
  #head = 0
  #paused = false
  /** Our side is ending (shutdown, idle timeout): what arrives is read and dropped. */
  #ending = false
  #failed = false

  constructor (socket: Socket, echo: EchoCounting, idleTimeoutMs: number) {
    this.socket = socket
    this.#echo = echo
    socket.on('data', this.#onData)
    socket.on('drain', this.#onDrain)
    socket.on('error', () => {
      // ECONNRESET, EPIPE: node destroys the socket next, and its close is counted.
      if (!this.#failed) { this.#failed = true; inc(echo.counters, C.ERRORS) }
    })
    if (idleTimeoutMs > 0) {
      socket.setTimeout(idleTimeoutMs, () => {
        inc(echo.counters, C.ECHO_IDLE_CLOSED)
        this.end()
      })
    }
  }

  readonly #onData = (chunk: Buffer): void => {
    const t0 = performance.now()
    const socket = this.socket
    const length = chunk.length
    add(this.#echo.counters, C.BYTES_IN, length)
    if (this.#ending) return
    const room = socket.write(chunk, this.#onWritten)
    if (socket.writableLength === 0) {
      this.#queue.push(-1, 0)
      this.#echo.echoed(length, t0)
    } else {
      this.#queue.push(t0, length)
    }
    if (!room && !this.#paused) {
      // The peer reads slower than it sends: stop reading until the queue
      // drains, so the queue never grows past its high-water mark and a chunk.
      this.#paused = true
      inc(this.#echo.counters, C.ECHO_PAUSES)
      socket.pause()
    }
  }

  readonly #onWritten = (err?: Error | null): void => {
    const at = this.#queue[this.#head]
    const length = this.#queue[this.#head + 1]
    this.#head += 2
    if (this.#head >= this.#queue.length) { this.#queue.length = 0; this.#head = 0 }
    // A write cut short by a reset or a destroy was never echoed: not counted.
    if (err != null || this.#failed || at === undefined || length === undefined || at < 0) return
    this.#echo.echoed(length, at)
  }

  readonly #onDrain = (): void => {
    if (!this.#paused) return
    this.#paused = false
    this.socket.resume()
  }

  /** Ends our side with a FIN after the echoes already queued, then reads and drops until the peer closes (bounded). */
  end (): void {
    if (this.#ending) return
    this.#ending = true
    if (this.#paused) { this.#paused = false; this.socket.resume() }
    lingeringClose(this.socket)
  }
}

/** The hot path's shared part: the counters and the ring of the echo's buffer. */
class EchoCounting {
  readonly counters: Uint32Array
  readonly #ring: RingProducer
  readonly #highWater: number
  readonly #drainSoon: () => void

  constructor (parts: TcpEchoParts) {
    this.counters = parts.views.counters
    this.#ring = parts.ring
    this.#highWater = parts.ring.capacity >>> 2
    this.#drainSoon = parts.drainSoon
  }

  /** A message of `length` bytes read at `t0` was handed to the kernel now. */
  echoed (length: number, t0: number): void {
    const us = Math.round((performance.now() - t0) * 1000)
    inc(this.counters, C.REQUESTS)
    add(this.counters, C.BYTES_OUT, length)
    if (this.#ring.push(us) > this.#highWater) this.#drainSoon()
  }
}

/** Starts the echo listener on `host`:`port` (0: any free port). */
export async function startTcpEcho (parts: TcpEchoParts, port: number, host: string): Promise<RunningTcpEcho> {
  const counting = new EchoCounting(parts)
  const counters = parts.views.counters
  const connections = new Set<EchoConnection>()
  // Nagle's algorithm would hold a small echo back until the previous one is
  // acknowledged, and a delayed ACK makes that up to 40 ms.
  const server = net.createServer({ noDelay: true }, (socket) => {
    inc(counters, C.CONNECTIONS_OPENED)
    const c = new EchoConnection(socket, counting, parts.idleTimeoutMs)
    connections.add(c)
    socket.once('close', () => {
      inc(counters, C.CONNECTIONS_CLOSED)
      connections.delete(c)
    })
  })
  // One thread accepts, so node's own cap is exact: a connection beyond it is
  // closed as soon as it is accepted, and counted.
  server.maxConnections = parts.maxConnections
  server.on('drop', () => { inc(counters, C.CONNECTIONS_REJECTED) })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port, host }, () => { server.off('error', reject); resolve() })
  })
  // A failed accept (EMFILE) is node's to retry; it must not crash the process.
  server.on('error', () => {})
  const { port: bound, address, family } = server.address() as AddressInfo
  const figures = new TcpEchoFigures(parts.views, bound, parts.windowSeconds)
  let closing: Promise<void> | undefined
  return {
    port: bound,
    url: `tcp://${family === 'IPv6' ? `[${address}]` : address}:${bound}`,
    figures,
    resetCounters: () => {
      zeroShardCounters(counters)
      parts.ring.fence()
      figures.resetRates()
    },
    close: async (deadline) => {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        for (const c of connections) c.end()
        await Promise.race([closed, deadline])
        for (const c of connections) c.socket.destroy()
        figures.close()
      })()
      await closing
    }
  }
}
