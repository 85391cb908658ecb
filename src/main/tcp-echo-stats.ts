// The TCP echo's figures (TCP_ECHO_PORT): its /stats block, `tcp_echo`, in
// the style of the HTTP listeners' keys (latency in float ms with µs
// resolution, null without a sample), from its own counters and the
// worker's snapshot of its own histograms; and the window's message rate,
// from its counter sampled once a second, as the HTTP request rate is.

import { C, read, readCounter, type Views } from '../shared/layout.js'
import type { ListenerSnapshot } from '../shared/protocol.js'
import { latency } from './stats.js'

const round = (n: number, digits: number): number => Number(n.toFixed(digits))

interface Tick { at: number, messages: number }

export class TcpEchoFigures {
  readonly views: Views
  /** The port it listens on (the actual one with TCP_ECHO_PORT=0). */
  readonly port: number
  readonly #windowSeconds: number
  readonly #ticks: Tick[] = []
  readonly #timer: NodeJS.Timeout

  constructor (views: Views, port: number, windowSeconds: number) {
    this.views = views
    this.port = port
    this.#windowSeconds = windowSeconds
    this.#tick()
    this.#timer = setInterval(() => this.#tick(), 1000)
    this.#timer.unref()
  }

  #tick (): void {
    this.#ticks.push({ at: performance.now(), messages: readCounter(this.views, C.REQUESTS) })
    if (this.#ticks.length > this.#windowSeconds + 2) this.#ticks.shift()
  }

  /** After POST /stats/reset: the rate restarts from zero. */
  resetRates (): void {
    this.#ticks.length = 0
    this.#tick()
  }

  close (): void {
    clearInterval(this.#timer)
  }

  /** Open connections now: closed read before opened, so one that opens and closes between the two never makes it negative. */
  get connectionsOpen (): number {
    const closed = read(this.views.counters, C.CONNECTIONS_CLOSED)
    return read(this.views.counters, C.CONNECTIONS_OPENED) - closed
  }

  /** Messages per second over the last WINDOW_SECONDS (or since start or reset), and that span in s. */
  #window (messages: number): { seconds: number, perSecond: number } {
    const now = performance.now()
    const from = now - this.#windowSeconds * 1000
    const base = this.#ticks.find((t) => t.at >= from - 1) ?? this.#ticks[0] as Tick
    const span = Math.max(now - base.at, 1) / 1000
    return { seconds: span, perSecond: Math.max(0, messages - base.messages) / span }
  }

  /** The `tcp_echo` block of /stats; `sinceReset` in s. */
  json (snap: ListenerSnapshot, sinceReset: number): Record<string, unknown> {
    const n = (i: number): number => readCounter(this.views, i)
    const messages = n(C.REQUESTS)
    const win = this.#window(messages)
    const life = snap.lifetime
    return {
      port: this.port,
      connections_open: this.connectionsOpen,
      connections_opened: n(C.CONNECTIONS_OPENED),
      connections_closed: n(C.CONNECTIONS_CLOSED),
      connections_rejected: n(C.CONNECTIONS_REJECTED),
      connections_failed: n(C.ERRORS),
      connections_idle_closed: n(C.ECHO_IDLE_CLOSED),
      messages,
      bytes_in: n(C.BYTES_IN),
      bytes_out: n(C.BYTES_OUT),
      backpressure_pauses: n(C.ECHO_PAUSES),
      messages_per_second: round(win.perSecond, 3),
      avg_messages_per_second: round(messages / sinceReset, 3),
      ...latency(life, 'latency_ms'),
      samples: life.count,
      samples_dropped: n(C.SAMPLES_DROPPED),
      samples_clamped: n(C.SAMPLES_CLAMPED),
      window: {
        seconds: round(win.seconds, 3),
        messages_per_second: round(win.perSecond, 3),
        samples: snap.current.count,
        ...latency(snap.current, 'ms')
      }
    }
  }
}
