// Where the client ran against the server: podmeter load compares its own
// node (--client-node, else $NODE_NAME) with the node the server's /stats
// reports (node_name, from its NODE_NAME), and records same-node, cross-node
// or unknown. Real server process, real client processes.

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { LoadResult } from '../../src/cli/result.js'
import { type Child, runCli, startCli } from '../support/helpers.js'

describe('placement in the load result', () => {
  let pm: Child
  before(async () => { pm = await startCli(['serve', '--delay-ms', '0'], { NODE_NAME: 'node-a' }) })
  after(async () => { pm.child.kill('SIGTERM'); await pm.exit })

  async function load (args: string[], env: Record<string, string>): Promise<{ r: LoadResult, stdout: string, stderr: string }> {
    const run = runCli(['load', '-q', '--warmup', '0', '-n', '20', '-c', '1', '--json', ...args, `${pm.url}/?delay=0`], env)
    const { code, stdout, stderr } = await run
    assert.equal(code, 0, stderr)
    return { r: JSON.parse(stdout) as LoadResult, stdout, stderr }
  }

  test('same node, from --client-node or $NODE_NAME', async () => {
    for (const [args, env] of [[['--client-node', 'node-a'], { NODE_NAME: '' }], [[], { NODE_NAME: 'node-a' }]] as const) {
      const { r, stderr } = await load([...args], env)
      assert.equal(r.placement, 'same-node')
      assert.equal(r.client_node, 'node-a')
      assert.equal(r.server_node, 'node-a')
      assert.equal(r.target_stats?.node_name, 'node-a')
      assert.match(stderr, /placement {3}same-node \(client on node-a, server on node-a\)/)
    }
  })

  test('another node: cross-node; the flag wins over the variable', async () => {
    const { r } = await load(['--client-node', 'node-b'], { NODE_NAME: 'node-a' })
    assert.equal(r.placement, 'cross-node')
    assert.equal(r.client_node, 'node-b')
    assert.equal(r.server_node, 'node-a')
  })

  test('unknown: no client node, a client NODE_NAME that is no node name, or no /stats', async () => {
    const none = await load([], { NODE_NAME: '' })
    assert.equal(none.r.placement, 'unknown')
    assert.equal(none.r.client_node, null)
    assert.equal(none.r.server_node, 'node-a')
    const bad = await load([], { NODE_NAME: 'Not A Node' })
    assert.equal(bad.r.placement, 'unknown')
    assert.match(bad.stderr, /NODE_NAME "Not A Node" is not a Kubernetes node name: the client's node is unknown/)
    const noStats = await load(['--no-stats', '--client-node', 'node-a'], { NODE_NAME: '' })
    assert.equal(noStats.r.placement, 'unknown')
    assert.equal(noStats.r.server_node, null)
  })
})
