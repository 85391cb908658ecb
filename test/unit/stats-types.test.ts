// The /stats document built from counters at their largest (2^53 − 1, where
// a double stops counting by one) and from an empty histogram: every integer
// key of the original is still an integer literal in Go's range, and the
// hop counts of the /stats request itself add up to current_hop_count.

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { C, create, HOP_BUCKETS, set } from '../../src/shared/layout.js'
import { RuntimeMonitor } from '../../src/main/runtime.js'
import { buildStats, type StatsContext } from '../../src/main/stats.js'
import type { Snapshot } from '../../src/shared/protocol.js'
import { goDecodeErrors, topLevelLiterals } from '../support/original-stats.js'

const empty = { count: 0, min: null, max: null, mean: null, percentiles: {} }

test('huge counters and no sample: the original\'s integer keys stay integer literals', () => {
  const views = create({ ringCapacity: 1024, lowestUs: 1, highestUs: 60_000_000, digits: 3, windowSeconds: 10 })
  const huge = Number.MAX_SAFE_INTEGER
  const c = views.shards[0]?.counters as Uint32Array
  for (const i of [C.REQUESTS, C.ERRORS, C.VIA_PROXY, C.PROXY_HOPS, C.MESH_HOPS]) set(c, i, huge)
  for (let i = 0; i < HOP_BUCKETS; i++) set(c, C.HOPS_BY_COUNT + i, huge)
  const runtime = new RuntimeMonitor(10, () => [huge, huge, huge])
  try {
    const ctx: StatsContext = {
      views,
      runtime,
      windowSeconds: 10,
      since: performance.now() - 1000,
      workerThreads: 1,
      mesh: () => ({ mode: 'none', evidence: [], sidecar: false, waypoint: false, envoyOnPath: false, sidecarMemory: undefined, istio: { version: null, revision: null, proxyConcurrency: null, envoyVersion: null } }),
      containerMemory: () => ({ inContainer: false, note: 'not in a container', source: undefined, limit: undefined, workingSet: undefined }),
      baseline: null
    }
    const snap: Snapshot = { ok: true, lifetime: empty, current: empty, baseline: null, drained: 0 }
    // Scan bits of the /stats request: 3 proxy hops, 2 mesh hops (headers.ts).
    const text = JSON.stringify(buildStats(ctx, snap, 3 | (2 << 8)))
    assert.deepEqual(goDecodeErrors(text), [])
    const literals = topLevelLiterals(text)
    assert.equal(literals.get('requests'), String(huge))
    assert.equal(literals.get('errors'), String(huge))
    assert.equal(literals.get('requests_via_proxy'), String(huge))
    assert.equal(literals.get('proxy_hop_count'), '3')
    assert.equal(literals.get('service_mesh_hops'), '2')
    assert.equal(literals.get('current_hop_count'), '5')
    assert.equal(literals.get('total_hop_count'), '5')
    assert.match(literals.get('uptime_seconds') ?? '', /^\d+$/)
    assert.equal(literals.get('p50_latency_ms'), 'null', 'no sample: null, as documented')
  } finally {
    runtime.close()
  }
})
