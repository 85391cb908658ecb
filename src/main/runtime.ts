// The process and machine figures of /stats, gathered off the hot path:
// a one-second ticker samples the request counter and event-loop utilization
// (for the window's rate), a PerformanceObserver counts GCs and their pauses,
// and the rest is read when /stats asks.
//
// Not v8.GCProfiler: it keeps a few KiB of native memory per GC, and its
// stop()/start() cycle leaks more. At full load (about 50 scavenges a second)
// it grew the RSS by 1.5 MiB a second, linearly, with the JS heap flat; with
// it gone the RSS is flat (see the README's soak figures).

import { existsSync, readFileSync, statfsSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay, performance, PerformanceObserver, type EventLoopUtilization } from 'node:perf_hooks'

const MiB = 1024 * 1024
const LOOP_RESOLUTION_MS = 20
const GiB = 1024 * MiB

interface Tick { at: number, requests: number, baseline: number, elu: EventLoopUtilization }

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

  readonly #readRequests: () => number
  readonly #readBaseline: () => number
  #gcCount = 0
  #gcLastPauseMs = 0
  #gcPauseTotalMs = 0
  readonly startedAt = performance.now()

  /** `readRequests` and `readBaseline`: the main and the baseline listener's request counters. */
  constructor (windowSeconds: number, readRequests: () => number, readBaseline: () => number = () => 0) {
    this.#keep = windowSeconds + 2
    this.#readRequests = readRequests
    this.#readBaseline = readBaseline
    this.#loopDelay.enable()
    this.#gc.observe({ entryTypes: ['gc'] })
    this.#tick()
    this.#timers.push(setInterval(() => this.#tick(), 1000))
    for (const t of this.#timers) t.unref()
  }

  #tick (): void {
    this.#ticks.push({ at: performance.now(), requests: this.#readRequests(), baseline: this.#readBaseline(), elu: performance.eventLoopUtilization() })
    if (this.#ticks.length > this.#keep) this.#ticks.shift()
  }

  /** Requests per second (each listener's) and event-loop utilization over the last `seconds` (or since start). */
  window (seconds: number, requestsNow: number, baselineNow = 0): { seconds: number, requestsPerSecond: number, baselinePerSecond: number, elu: number } {
    const now = performance.now()
    const from = now - seconds * 1000
    // The oldest tick inside the window, or the first one when we are younger than it.
    const base = this.#ticks.find((t) => t.at >= from - 1) ?? this.#ticks[0] as Tick
    const span = Math.max(now - base.at, 1) / 1000
    const elu = performance.eventLoopUtilization(performance.eventLoopUtilization(), base.elu)
    return {
      seconds: span,
      requestsPerSecond: Math.max(0, requestsNow - base.requests) / span,
      baselinePerSecond: Math.max(0, baselineNow - base.baseline) / span,
      elu: elu.utilization
    }
  }

  /** Forget request history (after /stats/reset): rates restart from zero. */
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
  kernelVersion: os.release()
}

function readNumber (path: string): number | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim()
    return /^\d+$/.test(text) ? Number(text) : undefined
  } catch {
    return undefined
  }
}

function readStat (path: string, key: string): number | undefined {
  try {
    const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(readFileSync(path, 'utf8'))
    return m === null ? undefined : Number(m[1])
  } catch {
    return undefined
  }
}

export interface ContainerMemory {
  source: 'cgroup-v2' | 'cgroup-v1' | 'none'
  /** The container's limit in bytes, undefined when unlimited. */
  limit: number | undefined
  /** What Kubernetes calls the working set: usage minus inactive file cache. */
  workingSet: number | undefined
}

/**
 * Our own cgroup paths from /proc/self/cgroup ("0::/path" for v2,
 * "N:memory:/path" for v1's memory controller). Paths with ".." (a process
 * outside its cgroup namespace's root) are ignored.
 */
function ownCgroups (selfCgroup: string): { v2: string | undefined, v1: string | undefined } {
  let text = ''
  try { text = readFileSync(selfCgroup, 'utf8') } catch {}
  let v2: string | undefined
  let v1: string | undefined
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(\/.*)$/.exec(line)
    if (m === null || (m[2] as string).split('/').includes('..')) continue
    if (m[1] === '') v2 = m[2]
    else if ((m[1] as string).split(',').includes('memory')) v1 = m[2]
  }
  return { v2, v1 }
}

// Inside a container the mount usually is our cgroup already (a cgroup
// namespace, or v1's bind mount of the container's cgroup), and our path does
// not exist under it. Without a namespace (Docker with cgroupns=host, a
// process outside any container) the mount is the whole tree, and our figures
// are under our path: the tree's root has none (v2) or everyone's (v1).
function ownDir (mount: string, path: string | undefined, probe: string): string {
  if (path !== undefined && path !== '/') {
    const dir = join(mount, path)
    if (existsSync(join(dir, probe))) return dir
  }
  return mount
}

/**
 * The container's memory from its cgroup (v2, else v1), as the kubelet
 * (cAdvisor) computes the working set: usage minus inactive file cache
 * (v2 `inactive_file`, v1 the hierarchical `total_inactive_file`), never below 0.
 * `root` is where the cgroup filesystem is mounted; both arguments are for tests.
 */
export function containerMemory (root = '/sys/fs/cgroup', selfCgroup = '/proc/self/cgroup'): ContainerMemory {
  const own = ownCgroups(selfCgroup)
  const v2 = ownDir(root, own.v2, 'memory.current')
  const v2usage = readNumber(join(v2, 'memory.current'))
  if (v2usage !== undefined) {
    const inactive = readStat(join(v2, 'memory.stat'), 'inactive_file') ?? 0
    // memory.max is "max" when unlimited: readNumber gives undefined.
    return { source: 'cgroup-v2', limit: readNumber(join(v2, 'memory.max')), workingSet: Math.max(0, v2usage - inactive) }
  }
  const v1 = ownDir(join(root, 'memory'), own.v1, 'memory.usage_in_bytes')
  const v1usage = readNumber(join(v1, 'memory.usage_in_bytes'))
  if (v1usage !== undefined) {
    const inactive = readStat(join(v1, 'memory.stat'), 'total_inactive_file') ?? 0
    const limit = readNumber(join(v1, 'memory.limit_in_bytes'))
    // v1 reports "no limit" as a huge page-aligned number.
    return { source: 'cgroup-v1', limit: limit !== undefined && limit < 2 ** 60 ? limit : undefined, workingSet: Math.max(0, v1usage - inactive) }
  }
  return { source: 'none', limit: undefined, workingSet: undefined }
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
