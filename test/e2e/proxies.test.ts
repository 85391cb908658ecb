// nginx and HAProxy chains of 0, 1 and 2 hops in front of a real PodMeter on
// loopback: hop counts, and the mode they lead to in each fixture pod.

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Running } from '../../src/main/serve.js'
import { fixturePod, getJson, load, request, startFakeEnvoyAdmin, startServer, waitFor, type FakeEnvoyAdmin } from '../support/helpers.js'
import { findBinary, startChain, type ProxyKind } from '../support/proxies.js'

type Hop = ['nginx' | 'haproxy', ProxyKind]
interface Expect { proxy: number, mesh: number, mode: string }

const REQUESTS = 40

test('a missing proxy fails the test with what to install, never skips it', () => {
  assert.throws(() => findBinary('podmeter-no-such-proxy', 'no-such-package'),
    /^Error: podmeter-no-such-proxy is not installed, and this test drives a real podmeter-no-such-proxy: apt-get install no-such-package \(\.ci\/run installs it\)$/)
  assert.match(findBinary('nginx'), /\/nginx$/)
  assert.match(findBinary('haproxy'), /\/haproxy$/)
})

/** Sends REQUESTS through the chain and checks what /stats counted and decided. */
async function through (pm: Running, hops: Hop[], want: Expect): Promise<Record<string, any>> {
  const chain = await startChain(new URL(pm.url).host, hops)
  try {
    const front = chain[0]?.url ?? pm.url
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const counts = await load(`${front}/?delay=0`, REQUESTS, 4)
    assert.deepEqual([...counts], [[200, REQUESTS]])

    // /stats through the same chain: its own hops.
    const own = await getJson(`${front}/stats`)
    const total = want.proxy + want.mesh
    assert.deepEqual([own.proxy_hop_count, own.service_mesh_hops, own.total_hop_count], [want.proxy, want.mesh, total], '/stats request hops')
    assert.equal(own.requests, REQUESTS)
    assert.equal(own.requests_by_hop_count[total < 4 ? String(total) : '4+'], REQUESTS)
    assert.equal(own.requests_via_proxy, total > 0 ? REQUESTS : 0)
    assert.equal(own.proxy_detected, total > 0)
    assert.equal(own.avg_proxy_hops, total)

    const debug = await getJson(`${front}/debug/headers`)
    assert.equal(debug.hops.total_hops, total, JSON.stringify(debug.headers))

    // The header rule is read by the detector on its timer.
    await waitFor(`mode ${want.mode}`, async () => (await getJson(`${pm.url}/stats`)).service_mesh_mode === want.mode)
    const s = await getJson(`${pm.url}/stats`)
    assert.equal(s.waypoint_proxy_detected, want.mode === 'ambient-l7')
    assert.equal(s.istio_sidecar_detected, want.mode === 'sidecar')
    return s
  } finally {
    await Promise.all(chain.map(async (p) => await p.stop()))
  }
}

describe('a pod outside any mesh', () => {
  let pm: Running
  before(async () => { pm = await startServer({ delayUs: 0, meshRefreshMs: 100 }) })
  after(async () => { await pm.shutdown() })

  test('direct: no hop, no mesh', async () => {
    await through(pm, [], { proxy: 0, mesh: 0, mode: 'none' })
  })

  test('a plain nginx is one proxy hop, and never a sidecar', async () => {
    const s = await through(pm, [['nginx', 'plain']], { proxy: 1, mesh: 0, mode: 'none' })
    assert.equal(s.requests_with_envoy_headers, 0)
  })

  test('HAProxy (X-Forwarded-For line and Via) then nginx (X-Forwarded-For): two hops, not three', async () => {
    await through(pm, [['haproxy', 'plain'], ['nginx', 'plain']], { proxy: 2, mesh: 0, mode: 'none' })
  })

  test('one nginx adding what a sidecar pair adds: two Envoys on the path; no pod fact places them, so neither sidecar nor waypoint', async () => {
    const s = await through(pm, [['nginx', 'envoy-pair']], { proxy: 0, mesh: 2, mode: 'envoy-on-path' })
    assert.equal(s.requests_with_envoy_headers, REQUESTS)
    assert.ok((s.mesh_evidence as string[]).some((e) => e.endsWith(': an Envoy on the path, its place unknown (no pod fact shows a sidecar or ambient: a waypoint, an ingress gateway and a client\'s sidecar send the same)')))
  })

  test('HAProxy as client sidecar, nginx as server sidecar: two Envoys on the path, place unknown', async () => {
    await through(pm, [['haproxy', 'envoy-client'], ['nginx', 'envoy-server']], { proxy: 0, mesh: 2, mode: 'envoy-on-path' })
  })

  test('plain traffic again: back to none', async () => {
    await through(pm, [['nginx', 'plain']], { proxy: 1, mesh: 0, mode: 'none' })
  })
})

describe('an ambient pod (ztunnel listeners, redirection annotation)', () => {
  let pm: Running
  before(async () => { pm = await startServer({ delayUs: 0, meshRefreshMs: 100, ...fixturePod('ambient') }) })
  after(async () => { await pm.shutdown() })

  test('through ztunnel only (no headers) or a plain proxy: ambient-l4', async () => {
    await through(pm, [], { proxy: 0, mesh: 0, mode: 'ambient-l4' })
    await through(pm, [['nginx', 'plain']], { proxy: 1, mesh: 0, mode: 'ambient-l4' })
  })

  test('through an Envoy (one hop, as a waypoint is): ambient-l7', async () => {
    await through(pm, [['haproxy', 'envoy-client']], { proxy: 0, mesh: 1, mode: 'ambient-l7' })
  })
})

describe('a sidecar pod (annotation, Envoy ports, Envoy admin answering)', () => {
  let pm: Running
  let admin: FakeEnvoyAdmin
  before(async () => {
    admin = await startFakeEnvoyAdmin()
    pm = await startServer({ delayUs: 0, meshRefreshMs: 100, ...fixturePod('sidecar'), envoyAdmin: admin.address })
  })
  after(async () => { await pm.shutdown(); await admin.close() })

  test('a sidecar pair in front: sidecar, not waypoint, with the sidecar\'s memory', async () => {
    const s = await through(pm, [['nginx', 'envoy-pair']], { proxy: 0, mesh: 2, mode: 'sidecar' })
    assert.deepEqual(s.sidecar_memory_mb, { allocated: 6.739, heap_size: 10, physical: 12 })
    assert.ok(s.container_memory_working_set_mb === null || s.container_memory_working_set_mb > 0)
  })
})
