import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { containerMemory, toMiB } from '../../src/main/runtime.js'
import { getJson, ROOT, startServer } from '../support/helpers.js'

const fixture = (name: string): [string, string] => {
  const dir = join(ROOT, 'test/fixtures/cgroup', name)
  return [join(dir, 'sys'), join(dir, 'self-cgroup')]
}
const mib = (m: { source: string, limit: number | undefined, workingSet: number | undefined }): unknown =>
  ({ source: m.source, limit: m.limit === undefined ? undefined : toMiB(m.limit), workingSet: m.workingSet === undefined ? undefined : toMiB(m.workingSet) })

test('container working set = usage − inactive file, as the kubelet computes it', () => {
  const cases: Array<[string, unknown]> = [
    // cgroup namespace: the mount is our cgroup
    ['v2-namespaced', { source: 'cgroup-v2', limit: 256, workingSet: 100 }],
    // the whole tree is mounted: our figures are under our path, not the root's
    ['v2-host-tree', { source: 'cgroup-v2', limit: undefined, workingSet: 70 }],
    // v1 bind mount of the container's cgroup: the hierarchical total_inactive_file counts
    ['v1-bind-mount', { source: 'cgroup-v1', limit: 256, workingSet: 70 }],
    // v1 whole tree: ours, not everyone's; "no limit" is a huge number
    ['v1-host-tree', { source: 'cgroup-v1', limit: undefined, workingSet: 48 }],
    ['v2-more-inactive', { source: 'cgroup-v2', limit: undefined, workingSet: 0 }],
    ['none', { source: 'none', limit: undefined, workingSet: undefined }]
  ]
  for (const [name, want] of cases) assert.deepEqual(mib(containerMemory(...fixture(name))), want, name)
})

test('CGROUP_ROOT reaches /stats: working set and limit from the fixture', async () => {
  const pm = await startServer({ cgroupRoot: fixture('v2-namespaced')[0] })
  try {
    const s = await getJson(`${pm.url}/stats`)
    assert.equal(s.memory_limit_source, 'cgroup-v2')
    assert.equal(s.container_memory_working_set_mb, 100)
    assert.equal(s.total_memory_mb, 256)
    assert.equal(s.available_memory_mb, 156)
  } finally {
    await pm.shutdown()
  }
})
