import assert from 'node:assert/strict'
import os from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { containerMemory, type ContainerSources } from '../../src/main/container-memory.js'
import { toMiB } from '../../src/main/runtime.js'
import { getJson, ROOT, startCli, startServer } from '../support/helpers.js'

// Each fixture: `sys` stands for /sys/fs/cgroup, `proc-self` for /proc/self
// (its `cgroup` file and its `ns/cgroup` link).
const fixture = (name: string, env: NodeJS.ProcessEnv = {}): ContainerSources => {
  const dir = join(ROOT, 'test/fixtures/cgroup', name)
  return { cgroupRoot: join(dir, 'sys'), procSelf: join(dir, 'proc-self'), env }
}
const mib = (m: { inContainer: boolean, source: string | undefined, limit: number | undefined, workingSet: number | undefined }): unknown =>
  ({ inContainer: m.inContainer, source: m.source, limit: m.limit === undefined ? undefined : toMiB(m.limit), workingSet: m.workingSet === undefined ? undefined : toMiB(m.workingSet) })

test('in a container: working set = usage − inactive file, as the kubelet computes it', () => {
  const cases: Array<[string, unknown]> = [
    // an own cgroup namespace: the mount is our cgroup
    ['v2-namespaced', { inContainer: true, source: 'cgroup-v2', limit: 256, workingSet: 100 }],
    // the whole tree is mounted: our figures are under our (kubepods) path, not the root's
    ['v2-host-tree', { inContainer: true, source: 'cgroup-v2', limit: undefined, workingSet: 70 }],
    // v1 bind mount of the container's cgroup: the hierarchical total_inactive_file counts
    ['v1-bind-mount', { inContainer: true, source: 'cgroup-v1', limit: 256, workingSet: 70 }],
    // v1 whole tree: ours (/docker/…), not everyone's; "no limit" is a huge number
    ['v1-host-tree', { inContainer: true, source: 'cgroup-v1', limit: undefined, workingSet: 48 }],
    ['v2-more-inactive', { inContainer: true, source: 'cgroup-v2', limit: undefined, workingSet: 0 }],
    // a host service with MemoryMax=: the limit the kernel enforces is a fact
    ['v2-host-limited', { inContainer: true, source: 'cgroup-v2', limit: 512, workingSet: 180 }]
  ]
  for (const [name, want] of cases) assert.deepEqual(mib(containerMemory(fixture(name))), want, name)
  assert.match(containerMemory(fixture('v2-namespaced')).note, /^in a container \(an own cgroup namespace \(cgroup:\[4026532451\]\); a memory limit is set on this process's cgroup \(.*\/sys\)\): working set and its memory limit from cgroup-v2 /)
  assert.match(containerMemory(fixture('v2-host-tree')).note, /^in a container \(cgroup path \/kubepods\.slice\/.*\/cri-containerd-3f9a\.scope names a container runtime\): working set and no memory limit set from cgroup-v2 /)
  assert.match(containerMemory(fixture('v1-host-tree')).note, /cgroup path \/docker\/3f9a names a container runtime/)
})

test('outside a container: a host cgroup that holds the process is not a container\'s', () => {
  const none = { inContainer: false, source: undefined, limit: undefined, workingSet: undefined }
  // This machine's shape: a VM, cgroup v1 with the unified tree at its root
  // (0::/), the sandbox agent's memory cgroup holding 700 MiB, no limit.
  const sandbox = containerMemory(fixture('v1-host-sandbox'))
  assert.deepEqual(mib(sandbox), none)
  assert.equal(sandbox.note, 'not in a container: the host\'s cgroup namespace, no KUBERNETES_SERVICE_HOST, cgroup path /, /process_api/a29a names no container runtime, no memory limit set; the cgroup holding this process is the host\'s, so no container figures')
  // A systemd host: a login session's cgroup of 980 MiB.
  assert.deepEqual(mib(containerMemory(fixture('v2-host-session'))), none)
  // No cgroup, no namespace link.
  const bare = containerMemory(fixture('none'))
  assert.deepEqual(mib(bare), none)
  assert.match(bare.note, /^not in a container: cgroup namespace unknown \(ENOENT\), no KUBERNETES_SERVICE_HOST, no cgroup path, no memory limit set;/)
  // The kubelet's variable is a fact by itself; empty is unset.
  assert.deepEqual(mib(containerMemory(fixture('v2-host-session', { KUBERNETES_SERVICE_HOST: '' }))), none)
  const pod = containerMemory(fixture('v2-host-session', { KUBERNETES_SERVICE_HOST: '10.96.0.1' }))
  assert.deepEqual(mib(pod), { inContainer: true, source: 'cgroup-v2', limit: undefined, workingSet: 920 })
  assert.match(pod.note, /^in a container \(KUBERNETES_SERVICE_HOST is set\)/)
  const noFigures = containerMemory(fixture('none', { KUBERNETES_SERVICE_HOST: '10.96.0.1' }))
  assert.deepEqual(mib(noFigures), { inContainer: true, source: undefined, limit: undefined, workingSet: undefined })
  assert.match(noFigures.note, /^in a container \(KUBERNETES_SERVICE_HOST is set\), but no cgroup memory figures under /)
})

test('CGROUP_ROOT and PROC_SELF reach /stats: a container with a limit, one without', async () => {
  const limited = fixture('v2-namespaced')
  const pm = await startServer({ cgroupRoot: limited.cgroupRoot, procSelf: limited.procSelf })
  try {
    const s = await getJson(`${pm.url}/stats`)
    assert.equal(s.memory_limit_source, 'cgroup-v2')
    assert.equal(s.container_memory_working_set_mb, 100)
    assert.equal(s.container_memory_limit_mb, 256)
    assert.equal(s.total_memory_mb, 256)
    assert.equal(s.available_memory_mb, 156)
    assert.match(s.container_memory_note, /^in a container \(an own cgroup namespace/)
  } finally {
    await pm.shutdown()
  }
  const unlimited = fixture('v2-host-tree')
  const pm2 = await startServer({ cgroupRoot: unlimited.cgroupRoot, procSelf: unlimited.procSelf })
  try {
    const s = await getJson(`${pm2.url}/stats`)
    assert.equal(s.memory_limit_source, null, 'no limit set: no source named')
    assert.equal(s.container_memory_limit_mb, null)
    assert.equal(s.container_memory_working_set_mb, 70)
  } finally {
    await pm2.shutdown()
  }
})

test('podmeter serve on a host: no container figures, with the reason', async () => {
  const host = fixture('v1-host-sandbox')
  // A child process, so that its environment has no KUBERNETES_SERVICE_HOST even when the tests run in a pod.
  const pm = await startCli(['serve'], { CGROUP_ROOT: host.cgroupRoot, PROC_SELF: host.procSelf, KUBERNETES_SERVICE_HOST: '' })
  try {
    const s = await getJson(`${pm.url}/stats`)
    assert.deepEqual([s.memory_limit_source, s.container_memory_working_set_mb, s.container_memory_limit_mb], [null, null, null])
    assert.match(s.container_memory_note, /^not in a container: the host's cgroup namespace, .*cgroup path \/, \/process_api\/a29a names no container runtime/)
    assert.equal(s.total_memory_mb, Number((os.totalmem() / 2 ** 20).toFixed(3)), 'the machine\'s memory, not a cgroup\'s')
  } finally {
    pm.child.kill('SIGTERM')
    await pm.exit
  }
})
