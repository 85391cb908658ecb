// The process and machine figures of /stats, gathered off the hot path:
// a one-second ticker samples the counters that /stats gives a rate of
// (requests and body bytes, stats.ts rateFigures) and event-loop
// utilization, a PerformanceObserver counts GCs and their pauses, and the
// rest is read when /stats asks.
//
// Not v8.GCProfiler: it keeps a few KiB of native memory per GC, and its
// stop()/start() cycle leaks more. At full load (about 50 scavenges a second)
// it grew the RSS by 1.5 MiB a second, linearly, with the JS heap flat; with
// it gone the RSS is flat (see the README's soak figures).

import { statfsSync } from 'node:fs'
import os from 'node:os'
import { monitorEventLoopDelay, performance, PerformanceObserver, type EventLoopUtilization } from 'node:perf_hooks'
import { isDnsLabel, nodeNameOrNull } from '../shared/node-name.js'

const MiB = 1024 * 1024
const LOOP_RESOLUTION_MS = 20
const GiB = 1024 * MiB

interface Tick { at: number, figures: readonly number[], elu: EventLoopUtilization }

/**
 * `fn`, called at most once per `ttlMs`: figures that move slowly (file reads,
 * GC statistics) cost /stats nothing when it is polled often.
 */
export function cachedFor<T> (ttlMs: number, fn: () => T): () => T {
  let at = Number.NEGATIVE_INFINITY
  let value: T
  return () => {
    const now = performance.now()
    if (now - at >= ttlMs) { value = fn(); at = now }
    return value
  }
}

export class RuntimeMonitor {
  readonly #ticks: Tick[] = []
  readonly #keep: number
  readonly #timers: NodeJS.Timeout[] = []
  readonly #loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
  readonly #gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      this.#gcCount++
      this.#gcLastPauseMs = e.duration
      this.#gcPauseTotalMs += e.duration
    }
  })

  readonly #read: () => readonly number[]
  #gcCount = 0
  #gcLastPauseMs = 0
  #gcPauseTotalMs = 0
  readonly startedAt = performance.now()

  /** `read`: the counters to give a rate of, always in the same order (stats.ts, rateFigures). */
  constructor (windowSeconds: number, read: () => readonly number[]) {
    this.#keep = windowSeconds + 2
    this.#read = read
    this.#loopDelay.enable()
    this.#gc.observe({ entryTypes: ['gc'] })
    this.#tick()
    this.#timers.push(setInterval(() => this.#tick(), 1000))
    for (const t of this.#timers) t.unref()
  }

  #tick (): void {
    this.#ticks.push({ at: performance.now(), figures: this.#read(), elu: performance.eventLoopUtilization() })
    if (this.#ticks.length > this.#keep) this.#ticks.shift()
  }

  /** Each figure's rate per second, from `now` (what `read` gives now), and event-loop utilization, over the last `seconds` (or since start). */
  window (seconds: number, now: readonly number[]): { seconds: number, perSecond: number[], elu: number } {
    const at = performance.now()
    const from = at - seconds * 1000
    // The oldest tick inside the window, or the first one when we are younger than it.
    const base = this.#ticks.find((t) => t.at >= from - 1) ?? this.#ticks[0] as Tick
    const span = Math.max(at - base.at, 1) / 1000
    const elu = performance.eventLoopUtilization(performance.eventLoopUtilization(), base.elu)
    return {
      seconds: span,
      perSecond: now.map((n, i) => Math.max(0, n - (base.figures[i] ?? 0)) / span),
      elu: elu.utilization
    }
  }

  /** Forget the counters' history (after /stats/reset): rates restart from zero. */
  resetRequests (): void {
    this.#ticks.length = 0
    this.#tick()
    this.#loopDelay.reset()
  }

  /** GCs of the main thread since start, and their pauses. */
  gc (): { count: number, lastPauseMs: number, totalPauseMs: number } {
    return { count: this.#gcCount, lastPauseMs: this.#gcLastPauseMs, totalPauseMs: this.#gcPauseTotalMs }
  }

  /** Refreshed at most once a second. */
  readonly loopDelayP99Ms = cachedFor(1000, (): number => {
    const p = this.#loopDelay.percentile(99)
    // The monitor's timer runs every `resolution` ms: what it sees is the delay beyond that.
    return Number.isFinite(p) ? Math.max(0, p / 1e6 - LOOP_RESOLUTION_MS) : 0
  })

  close (): void {
    for (const t of this.#timers) clearInterval(t)
    this.#loopDelay.disable()
    this.#gc.disconnect()
  }
}

const GOARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' }

/** Facts that do not change while we run. */
export const host = {
  hostname: os.hostname(),
  // Named as Go's runtime names them, as the original printed them.
  os: process.platform === 'win32' ? 'windows' : process.platform,
  architecture: GOARCH[process.arch] ?? process.arch,
  numCpu: os.availableParallelism(),
  kernelVersion: os.release(),
  // The Kubernetes node, from NODE_NAME (the Downward API's spec.nodeName in
  // deploy/base): null outside Kubernetes, or when it is not a node name.
  nodeName: nodeNameOrNull(process.env.NODE_NAME),
  // The pod's namespace, from POD_NAMESPACE (the Downward API's
  // metadata.namespace in deploy/base), for the client's cost queries: null
  // outside Kubernetes, or when it is not a namespace name.
  podNamespace: process.env.POD_NAMESPACE !== undefined && isDnsLabel(process.env.POD_NAMESPACE) ? process.env.POD_NAMESPACE : null
}

export function disk (path = '/'): { totalGb: number, availableGb: number, usagePercent: number } | undefined {
  try {
    const s = statfsSync(path)
    const total = s.blocks * s.bsize
    const available = s.bavail * s.bsize
    const used = total - s.bfree * s.bsize
    return { totalGb: total / GiB, availableGb: available / GiB, usagePercent: total > 0 ? (used / (used + available)) * 100 : 0 }
  } catch {
    return undefined
  }
}

export const toMiB = (bytes: number): number => bytes / MiB
