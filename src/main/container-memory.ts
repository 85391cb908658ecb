// The container's memory, as Kubernetes sees it, and only inside a container.
//
// A process always sits in some cgroup; outside a container that cgroup is
// the host's (a login session, a service, a sandbox agent's group) and its
// usage is not this process's container. So the figures come only when a
// fact shows a container (docs/mesh.md "Memory: app, sidecar, ztunnel"):
//   - an own cgroup namespace: /proc/self/ns/cgroup is not the initial one,
//     whose inode the kernel fixes at 0xEFFFFFFB (PROC_CGROUP_INIT_INO);
//   - KUBERNETES_SERVICE_HOST in the environment (the kubelet sets it in
//     every container of a pod);
//   - a cgroup path naming a container runtime (kubepods, docker, crio,
//     cri-containerd, libpod, lxc, actions_job);
//   - a memory limit set on this process's own cgroup: then the figures are
//     what the kernel enforces, whatever made the cgroup.
// Not facts: `0::/` in /proc/self/cgroup (a host without systemd keeps
// every process at the root of the v2 tree) and /.dockerenv (an image
// made by Docker keeps it wherever it runs, a VM's root filesystem too).

import { existsSync, readFileSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'

export interface ContainerSources {
  /** Where the cgroup filesystem is mounted (CGROUP_ROOT). Default /sys/fs/cgroup. */
  cgroupRoot: string
  /** This process's /proc entry: its `cgroup` file and `ns/cgroup` link (PROC_SELF). Default /proc/self. */
  procSelf: string
  /** The environment, for KUBERNETES_SERVICE_HOST. Default process.env. */
  env: NodeJS.ProcessEnv
}

export interface ContainerMemory {
  /** Whether a fact shows a container; without one every figure below is undefined. */
  inContainer: boolean
  /** The facts that decided, and where the figures come from (or why there are none). */
  note: string
  /** The cgroup version the working set was read from; undefined when not read. */
  source: 'cgroup-v2' | 'cgroup-v1' | undefined
  /** The container's limit in bytes; undefined when none is set. */
  limit: number | undefined
  /** What Kubernetes calls the working set: usage minus inactive file cache. */
  workingSet: number | undefined
}

const INITIAL_CGROUP_NS = 'cgroup:[4026531835]'
const V1_UNLIMITED = 2 ** 60
const RUNTIME_SEGMENT = /^(kubepods|docker|crio|cri-containerd|libpod|lxc|actions_job)([-._].*)?$/

function readText (path: string): string | undefined {
  try { return readFileSync(path, 'utf8') } catch { return undefined }
}

/** The link's target, or the error code when it cannot be read. */
function readLink (path: string): string {
  try { return readlinkSync(path) } catch (err) { return (err as NodeJS.ErrnoException).code ?? 'unreadable' }
}

function readNumber (path: string): number | undefined {
  const text = readText(path)?.trim()
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined
}

function readStat (path: string, key: string): number | undefined {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(readText(path) ?? '')
  return m === null ? undefined : Number(m[1])
}

/**
 * Our own cgroup paths from /proc/self/cgroup ("0::/path" for v2,
 * "N:memory:/path" for v1's memory controller). Paths with ".." (a process
 * outside its cgroup namespace's root) are ignored.
 */
export function ownCgroups (text: string): { v2: string | undefined, v1: string | undefined } {
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
// not exist under it. Without a namespace (Docker with cgroupns=host) the
// mount is the whole tree, and our figures are under our path: the tree's
// root has none (v2) or everyone's (v1).
function ownDir (mount: string, path: string | undefined, probe: string): string {
  if (path !== undefined && path !== '/') {
    const dir = join(mount, path)
    if (existsSync(join(dir, probe))) return dir
  }
  return mount
}

interface Reading { source: 'cgroup-v2' | 'cgroup-v1', dir: string, limit: number | undefined, workingSet: number }

/** The working set as the kubelet (cAdvisor) computes it: v2 `inactive_file`, v1 the hierarchical `total_inactive_file`, never below 0. */
function readCgroup (root: string, own: { v2: string | undefined, v1: string | undefined }): Reading | undefined {
  const v2 = ownDir(root, own.v2, 'memory.current')
  const v2usage = readNumber(join(v2, 'memory.current'))
  if (v2usage !== undefined) {
    const inactive = readStat(join(v2, 'memory.stat'), 'inactive_file') ?? 0
    // memory.max is "max" when unlimited: readNumber gives undefined.
    return { source: 'cgroup-v2', dir: v2, limit: readNumber(join(v2, 'memory.max')), workingSet: Math.max(0, v2usage - inactive) }
  }
  const v1 = ownDir(join(root, 'memory'), own.v1, 'memory.usage_in_bytes')
  const v1usage = readNumber(join(v1, 'memory.usage_in_bytes'))
  if (v1usage !== undefined) {
    const inactive = readStat(join(v1, 'memory.stat'), 'total_inactive_file') ?? 0
    const limit = readNumber(join(v1, 'memory.limit_in_bytes'))
    // v1 reports "no limit" as a huge page-aligned number.
    return { source: 'cgroup-v1', dir: v1, limit: limit !== undefined && limit < V1_UNLIMITED ? limit : undefined, workingSet: Math.max(0, v1usage - inactive) }
  }
  return undefined
}

/** The facts that show a container, and the ones looked for in vain. */
export function containerFacts (s: ContainerSources, own: { v2: string | undefined, v1: string | undefined }, reading: Reading | undefined): { found: string[], missing: string[] } {
  const found: string[] = []
  const missing: string[] = []
  const ns = readLink(join(s.procSelf, 'ns/cgroup'))
  if (ns.startsWith('cgroup:[') && ns !== INITIAL_CGROUP_NS) found.push(`an own cgroup namespace (${ns})`)
  else missing.push(ns === INITIAL_CGROUP_NS ? 'the host\'s cgroup namespace' : `cgroup namespace unknown (${ns})`)
  const k8s = s.env.KUBERNETES_SERVICE_HOST
  if (k8s !== undefined && k8s !== '') found.push('KUBERNETES_SERVICE_HOST is set')
  else missing.push('no KUBERNETES_SERVICE_HOST')
  const paths = [...new Set([own.v2, own.v1].filter((p) => p !== undefined))]
  const runtime = paths.find((p) => p.split('/').some((seg) => RUNTIME_SEGMENT.test(seg) && !seg.endsWith('.service')))
  if (runtime !== undefined) found.push(`cgroup path ${runtime} names a container runtime`)
  else missing.push(paths.length === 0 ? 'no cgroup path' : `cgroup path ${paths.join(', ')} names no container runtime`)
  if (reading?.limit !== undefined) found.push(`a memory limit is set on this process's cgroup (${reading.dir})`)
  else missing.push('no memory limit set')
  return { found, missing }
}

/**
 * The container's memory from its cgroup (v2, else v1), only when a fact
 * shows a container; the sources are paths so that tests use fixtures.
 */
export function containerMemory (s: ContainerSources): ContainerMemory {
  const own = ownCgroups(readText(join(s.procSelf, 'cgroup')) ?? '')
  const reading = readCgroup(s.cgroupRoot, own)
  const { found, missing } = containerFacts(s, own, reading)
  if (found.length === 0) {
    return {
      inContainer: false,
      note: `not in a container: ${missing.join(', ')}; the cgroup holding this process is the host's, so no container figures`,
      source: undefined,
      limit: undefined,
      workingSet: undefined
    }
  }
  if (reading === undefined) {
    return { inContainer: true, note: `in a container (${found.join('; ')}), but no cgroup memory figures under ${s.cgroupRoot}`, source: undefined, limit: undefined, workingSet: undefined }
  }
  const limit = reading.limit === undefined ? 'no memory limit set' : 'its memory limit'
  const note = `in a container (${found.join('; ')}): working set and ${limit} from ${reading.source} ${reading.dir}`
  return { inContainer: true, note, source: reading.source, limit: reading.limit, workingSet: reading.workingSet }
}
