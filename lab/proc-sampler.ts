// What each stand-in's own /proc says it burned: the CPU time of a process
// and of its descendants (utime + stime of /proc/<pid>/stat, every thread of
// each included: nginx's workers, were there any, and PodMeter's worker
// threads), and their resident set (rss, field 24), read every 100 ms while a
// cost window is open. Prometheus stamps a scrape with its start; the lab
// wants /proc's figure at those very instants, so `at(t)` interpolates
// between the reads on either side of t. The windows begin and end on idle
// stand-ins (cost.ts), so the reads either side of a scrape agree and the
// interpolation changes nothing: it only guards against a stray wake-up.

import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

const SAMPLE_MS = 100

/** Clock ticks per second of utime and stime (USER_HZ; 100 on Linux) and the page size of rss. */
function sysconf (name: string, fallback: number): number {
  try {
    const v = Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim())
    return Number.isFinite(v) && v > 0 ? v : fallback
  } catch {
    return fallback
  }
}
const TICKS = sysconf('CLK_TCK', 100)
const PAGE = sysconf('PAGESIZE', 4096)

interface Stat { ppid: number, ticks: number, rssPages: number }

/** Fields 4 (ppid), 14 + 15 (utime, stime) and 24 (rss) of /proc/<pid>/stat; undefined when it is gone. */
function stat (pid: number): Stat | undefined {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
  return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), rssPages: Number(f[21]) }
}

/** `pid` and every live descendant of it, from one walk of /proc. */
export function processTree (pid: number): number[] {
  const children = new Map<number, number[]>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const s = stat(Number(name))
    if (s === undefined) continue
    children.set(s.ppid, [...(children.get(s.ppid) ?? []), Number(name)])
  }
  const tree = [pid]
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i] as number) ?? []))
  return tree
}

/** One read of a group: unix seconds, CPU seconds and resident bytes of its processes. */
export interface ProcRead { at: number, cpuSeconds: number, rssBytes: number }

/** /proc's figures of a group at an instant: interpolated, and how far the reads either side of it were. */
export interface ProcAt extends ProcRead { gap_s: number }

export function readGroup (pids: readonly number[]): ProcRead {
  const before = Date.now()
  let ticks = 0
  let pages = 0
  for (const pid of pids) {
    const s = stat(pid)
    if (s === undefined) continue
    ticks += s.ticks
    pages += s.rssPages
  }
  return { at: (before + Date.now()) / 2000, cpuSeconds: ticks / TICKS, rssBytes: pages * PAGE }
}

export class ProcSampler {
  readonly #groups: Map<string, number[]>
  readonly #reads = new Map<string, ProcRead[]>()
  readonly #timer: NodeJS.Timeout

  /** Starts reading every group (name → its processes, trees included) at once and every 100 ms. */
  constructor (groups: Map<string, number[]>) {
    this.#groups = groups
    for (const name of groups.keys()) this.#reads.set(name, [])
    this.#read()
    this.#timer = setInterval(() => this.#read(), SAMPLE_MS)
  }

  #read (): void {
    for (const [name, pids] of this.#groups) this.#reads.get(name)?.push(readGroup(pids))
  }

  /** The time of the last read, unix seconds. */
  get last (): number {
    let last = 0
    for (const reads of this.#reads.values()) last = Math.max(last, reads.at(-1)?.at ?? 0)
    return last
  }

  stop (): void {
    clearInterval(this.#timer)
  }

  /** A group's figures at unix time `t`, between the reads either side of it; undefined when t is not between two reads. */
  at (name: string, t: number): ProcAt | undefined {
    const reads = this.#reads.get(name) ?? []
    const i = reads.findIndex((r) => r.at > t)
    if (i < 1) return undefined
    const a = reads[i - 1] as ProcRead
    const b = reads[i] as ProcRead
    const w = (t - a.at) / (b.at - a.at)
    return {
      at: t,
      cpuSeconds: a.cpuSeconds + (b.cpuSeconds - a.cpuSeconds) * w,
      rssBytes: (w < 0.5 ? a : b).rssBytes,
      gap_s: Math.max(t - a.at, b.at - t)
    }
  }
}
