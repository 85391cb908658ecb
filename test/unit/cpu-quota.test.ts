// HTTP_THREADS=auto: the CPU quota of our cgroup and its ancestors, v2 and
// v1, read from cgroup trees written here; the thread count it gives.

import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, test } from 'node:test'
import { autoThreads, cpuQuota, cpusOfCpuMax } from '../../src/main/cpu-quota.js'

const base = mkdtempSync(join(tmpdir(), 'podmeter-cpu-quota-'))
after(() => rmSync(base, { recursive: true, force: true }))

let n = 0
/** A cgroup tree: `files` by path under the mount, and /proc/self/cgroup. */
function tree (procCgroup: string, files: Record<string, string>): { cgroupRoot: string, procSelf: string } {
  const dir = join(base, String(n++))
  const cgroupRoot = join(dir, 'sys')
  const procSelf = join(dir, 'proc-self')
  mkdirSync(cgroupRoot, { recursive: true })
  mkdirSync(procSelf, { recursive: true })
  writeFileSync(join(procSelf, 'cgroup'), procCgroup)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(cgroupRoot, path)), { recursive: true })
    writeFileSync(join(cgroupRoot, path), text + '\n')
  }
  return { cgroupRoot, procSelf }
}

test('cpu.max: "quota period" is CPUs; "max" and anything malformed is no quota', () => {
  assert.equal(cpusOfCpuMax('200000 100000'), 2)
  assert.equal(cpusOfCpuMax('150000 100000'), 1.5)
  assert.equal(cpusOfCpuMax('max 100000'), undefined)
  assert.equal(cpusOfCpuMax('100000 0'), undefined)
  assert.equal(cpusOfCpuMax('-1 100000'), undefined)
  assert.equal(cpusOfCpuMax(undefined), undefined)
})

test('v2 inside a cgroup namespace: the mount is our cgroup', () => {
  const s = tree('0::/\n', { 'cpu.max': '200000 100000' })
  assert.deepEqual(cpuQuota(s), { cpus: 2, file: join(s.cgroupRoot, 'cpu.max') })
  assert.deepEqual(autoThreads(s, true, 8), { threads: 2, reason: `auto: a CPU quota of 2 in ${join(s.cgroupRoot, 'cpu.max')}` })
})

test('v2 without a namespace: the smallest quota on the path from our cgroup up wins', () => {
  const s = tree('0::/kubepods.slice/pod1.slice/cri-containerd-3f.scope\n', {
    'kubepods.slice/cpu.max': 'max 100000',
    'kubepods.slice/pod1.slice/cpu.max': '300000 100000',
    'kubepods.slice/pod1.slice/cri-containerd-3f.scope/cpu.max': '400000 100000',
    'other.slice/cpu.max': '100000 100000'
  })
  assert.equal(cpuQuota(s)?.cpus, 3, 'the pod\'s 3 CPUs, not the container\'s 4, nor a sibling\'s 1')
  assert.equal(autoThreads(s, true, 8).threads, 3)
})

test('v1: cfs_quota_us over cfs_period_us of the cpu controller; -1 is none', () => {
  const s = tree('12:cpu,cpuacct:/docker/3f\n11:memory:/docker/3f\n', {
    'cpu/docker/3f/cpu.cfs_quota_us': '250000',
    'cpu/docker/3f/cpu.cfs_period_us': '100000',
    'cpu/cpu.cfs_quota_us': '-1',
    'cpu/cpu.cfs_period_us': '100000'
  })
  assert.equal(cpuQuota(s)?.cpus, 2.5)
  assert.equal(autoThreads(s, true, 8).threads, 2, 'a fractional quota rounds down')
  const none = tree('12:cpu,cpuacct:/docker/3f\n', { 'cpu/docker/3f/cpu.cfs_quota_us': '-1', 'cpu/docker/3f/cpu.cfs_period_us': '100000' })
  assert.equal(cpuQuota(none), undefined)
})

test('no quota, a quota under 1 CPU, more quota than CPUs, no reusePort', () => {
  const unlimited = tree('0::/\n', { 'cpu.max': 'max 100000' })
  assert.deepEqual(autoThreads(unlimited, true, 8), { threads: 1, reason: 'auto: no cgroup CPU quota is set' })
  assert.equal(autoThreads(tree('0::/\n', {}), true, 8).threads, 1, 'no cgroup files at all')
  assert.equal(autoThreads(tree('0::/\n', { 'cpu.max': '50000 100000' }), true, 8).threads, 1, 'half a CPU still gets its one thread')
  const big = autoThreads(tree('0::/\n', { 'cpu.max': '1600000 100000' }), true, 4)
  assert.equal(big.threads, 4)
  assert.match(big.reason, /capped at the 4 CPUs this process may run on/)
  assert.equal(autoThreads(tree('0::/\n', { 'cpu.max': '99900000 100000' }), true, 128).threads, 64, 'never more than 64')
  const old = autoThreads(tree('0::/\n', { 'cpu.max': '200000 100000' }), false, 8)
  assert.equal(old.threads, 1)
  assert.match(old.reason, /has no listen\(\{ reusePort \}\), which needs 22\.12 or later/)
})
