// How many HTTP threads `HTTP_THREADS=auto` (the default) runs: the CPUs the
// container may use, which is its cgroup's CPU quota, never the host's core
// count (a pod limited to 2 CPUs on a 64-core node must not start 64
// threads that the kernel then throttles).
//
//   - cgroup v2: `cpu.max` ("200000 100000": 2 CPUs; "max 100000": none) of
//     our cgroup and of each ancestor visible to us; the smallest wins, as
//     in the kernel.
//   - cgroup v1: `cpu.cfs_quota_us` over `cpu.cfs_period_us` (a quota of -1:
//     none), the same walk.
//   - A fractional quota rounds down (1.5 CPUs: 1 thread), as Go's
//     automaxprocs does: a thread more than the quota is throttled, not fed.
//   - No quota at all: 1 thread. Without a limit the CPUs a pod gets are
//     whatever its node has spare, and one thread is what was measured as
//     the safe default (bench/results/cpu.md).
//   - Never more than os.availableParallelism() (the CPUs this process may
//     run on), nor 64; and 1 on a Node without listen({ reusePort }).

import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'

/** Where the cgroup files are: CGROUP_ROOT and PROC_SELF (config.ts). */
export interface QuotaSources { cgroupRoot: string, procSelf: string }

export interface AutoThreads {
  threads: number
  /** Why that many, for the start-up line and /stats. */
  reason: string
}

const MAX_THREADS = 64

function readText (path: string): string | undefined {
  try { return readFileSync(path, 'utf8').trim() } catch { return undefined }
}

/** Our cgroup paths: v2's ("0::/path") and v1's cpu controller's ("N:cpu,cpuacct:/path"). */
function ownPaths (procSelf: string): { v2: string | undefined, v1: string | undefined } {
  let v2: string | undefined
  let v1: string | undefined
  for (const line of (readText(join(procSelf, 'cgroup')) ?? '').split('\n')) {
    const m = /^\d+:([^:]*):(\/.*)$/.exec(line)
    if (m === null || (m[2] as string).split('/').includes('..')) continue
    if (m[1] === '') v2 = m[2]
    else if ((m[1] as string).split(',').includes('cpu')) v1 = m[2]
  }
  return { v2, v1 }
}

/**
 * The directories from our cgroup up to the mount's root. Inside a cgroup
 * namespace the mount is our cgroup itself and our path is not under it;
 * without one the path is, and its ancestors are too.
 */
function chain (mount: string, path: string | undefined): string[] {
  const dirs = [mount]
  if (path === undefined || path === '/') return dirs
  for (let p = path; p !== '/' && p !== '.'; p = dirname(p)) dirs.unshift(join(mount, p))
  return dirs
}

/** CPUs of a v2 `cpu.max` ("quota period"), undefined for "max" or anything else. */
export function cpusOfCpuMax (text: string | undefined): number | undefined {
  const m = /^(\d+) (\d+)$/.exec(text ?? '')
  if (m === null || Number(m[2]) === 0) return undefined
  return Number(m[1]) / Number(m[2])
}

/** The smallest CPU quota over our cgroup and its ancestors, and the file it came from. */
export function cpuQuota (s: QuotaSources): { cpus: number, file: string } | undefined {
  const own = ownPaths(s.procSelf)
  let best: { cpus: number, file: string } | undefined
  const consider = (cpus: number | undefined, file: string): void => {
    if (cpus !== undefined && cpus > 0 && (best === undefined || cpus < best.cpus)) best = { cpus, file }
  }
  for (const dir of chain(s.cgroupRoot, own.v2)) consider(cpusOfCpuMax(readText(join(dir, 'cpu.max'))), join(dir, 'cpu.max'))
  if (best !== undefined) return best
  for (const dir of chain(join(s.cgroupRoot, 'cpu'), own.v1)) {
    const quota = Number(readText(join(dir, 'cpu.cfs_quota_us')) ?? Number.NaN)
    const period = Number(readText(join(dir, 'cpu.cfs_period_us')) ?? Number.NaN)
    if (Number.isInteger(quota) && quota > 0 && Number.isInteger(period) && period > 0) consider(quota / period, join(dir, 'cpu.cfs_quota_us'))
  }
  return best
}

/** What HTTP_THREADS=auto resolves to here, and why. */
export function autoThreads (s: QuotaSources, reusePort: boolean, cpusHere = availableParallelism()): AutoThreads {
  if (!reusePort) return { threads: 1, reason: `auto: Node ${process.versions.node} has no listen({ reusePort }), which needs 22.12 or later` }
  const quota = cpuQuota(s)
  if (quota === undefined) return { threads: 1, reason: 'auto: no cgroup CPU quota is set' }
  const threads = Math.max(1, Math.min(Math.floor(quota.cpus), cpusHere, MAX_THREADS))
  const cpus = Number(quota.cpus.toFixed(3))
  const capped = Math.floor(quota.cpus) > threads && threads === cpusHere ? `, capped at the ${cpusHere} CPUs this process may run on` : ''
  return { threads, reason: `auto: a CPU quota of ${cpus} in ${quota.file}${capped}` }
}
