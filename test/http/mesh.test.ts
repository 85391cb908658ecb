// A fake pod around a real PodMeter: Downward API files written as the kubelet
// writes them, /proc/net/tcp snapshots, a real listener standing in for Envoy
// admin, and Istio traffic replayed from fixtures.

import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { Running } from '../../src/main/serve.js'
import { fetchTargetStats } from '../../src/cli/result.js'
import { fixturePod, freePort, getJson, istioHeaders, load, request, ROOT, startCli, startFakeEnvoyAdmin, startServer, waitFor, writePodInfo } from '../support/helpers.js'

const podFile = (pod: string, file: string): string => readFileSync(join(ROOT, 'test/fixtures/pods', pod, 'podinfo', file), 'utf8')

test('istio-cni annotates the pod while PodMeter runs: the mode follows (podmeter serve, settings from the environment)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podmeter-pod-'))
  const podinfo = join(dir, 'podinfo')
  writePodInfo(podinfo, { labels: podFile('none', 'labels'), annotations: podFile('none', 'annotations') })
  const pm = await startCli(['serve'], {
    PODINFO_DIR: podinfo,
    PROC_NET_TCP: fixturePod('none').procNetTcp,
    ENVOY_ADMIN: 'off',
    // Ten minutes: only the watch on the directory can show the change in time.
    MESH_REFRESH_MS: '600000'
  })
  try {
    const before = await getJson(`${pm.url}/stats`)
    assert.equal(before.service_mesh_mode, 'none')
    assert.equal(before.mesh_evidence[0], `no Istio annotation in ${podinfo}`)
    writePodInfo(podinfo, {
      labels: podFile('ambient-waypoint', 'labels'),
      annotations: podFile('none', 'annotations') + 'ambient.istio.io/redirection="enabled"\n'
    })
    await waitFor('mode ambient-l4', async () => (await getJson(`${pm.url}/stats`)).service_mesh_mode === 'ambient-l4')
    const after = await getJson(`${pm.url}/stats`)
    assert.equal(after.mesh_evidence[0], 'annotation ambient.istio.io/redirection=enabled')
    assert.ok((after.mesh_evidence as string[]).includes('label istio.io/use-waypoint=waypoint'))
    assert.equal(after.sidecar_memory_mb, undefined)
  } finally {
    pm.child.kill('SIGTERM')
    await pm.exit
    rmSync(dir, { recursive: true, force: true })
  }
})

test('Envoy admin comes up after PodMeter and goes away: sidecar memory appears, then is absent', async () => {
  const port = await freePort()
  const pm = await startServer({ meshRefreshMs: 100, envoyAdmin: `127.0.0.1:${port}` })
  try {
    let s = await getJson(`${pm.url}/stats`)
    assert.equal(s.service_mesh_mode, 'none')
    assert.ok(!('sidecar_memory_mb' in s))
    const admin = await startFakeEnvoyAdmin({ allocated: '52428800', heap_size: '67108864' }, port)
    try {
      await waitFor('sidecar', async () => (await getJson(`${pm.url}/stats`)).service_mesh_mode === 'sidecar')
      s = await getJson(`${pm.url}/stats`)
      assert.equal(s.istio_sidecar_detected, true)
      assert.deepEqual(s.sidecar_memory_mb, { allocated: 50, heap_size: 64 })
      assert.ok(s.memory_sys_mb > 0, 'the app\'s own memory beside the sidecar\'s')
      // What `podmeter load` and `compare` keep of it: Envoy's heap size, in MiB.
      assert.equal((await fetchTargetStats(`${pm.url}/stats`))?.sidecar_memory_mb, 64)
    } finally {
      await admin.close()
    }
    await waitFor('no sidecar', async () => (await getJson(`${pm.url}/stats`)).service_mesh_mode === 'none')
    assert.ok(!('sidecar_memory_mb' in await getJson(`${pm.url}/stats`)))
  } finally {
    await pm.shutdown()
  }
})

async function replay (pm: Running, fixture: string, n: number): Promise<void> {
  const raw = istioHeaders(fixture)
  const headers: Array<[string, string]> = []
  for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).toLowerCase() !== 'host') headers.push([raw[i] as string, raw[i + 1] as string])
  const counts = await load(`${pm.url}/?delay=0`, n, 2, { headers: Object.fromEntries(headers) })
  assert.deepEqual([...counts], [[200, n]])
}

test('Istio traffic replayed: sidecar pair into a sidecar pod, waypoint and ztunnel into an ambient pod', async () => {
  const sidecar = await startServer({ delayUs: 0, meshRefreshMs: 100, ...fixturePod('sidecar') })
  try {
    await replay(sidecar, 'sidecar-mtls', 20)
    const s = await getJson(`${sidecar.url}/stats`)
    assert.equal(s.service_mesh_mode, 'sidecar')
    assert.equal(s.requests_by_hop_count['2'], 20)
    assert.equal(s.requests_with_tracing_headers, 20, 'tracing headers are reported')
    assert.equal(s.avg_proxy_hops, 2, 'and are not hops')
  } finally {
    await sidecar.shutdown()
  }
  const ambient = await startServer({ delayUs: 0, meshRefreshMs: 100, ...fixturePod('ambient') })
  try {
    await replay(ambient, 'ztunnel', 20)
    await waitFor('ambient-l4 with requests seen', async () =>
      ((await getJson(`${ambient.url}/stats`)).mesh_evidence as string[]).some((e) => e.startsWith('no Envoy-made headers')))
    assert.equal((await getJson(`${ambient.url}/stats`)).service_mesh_mode, 'ambient-l4')
    await request(`${ambient.url}/stats/reset`, { method: 'POST' })
    await replay(ambient, 'waypoint', 20)
    await waitFor('ambient-l7', async () => (await getJson(`${ambient.url}/stats`)).service_mesh_mode === 'ambient-l7')
    const s = await getJson(`${ambient.url}/stats`)
    assert.equal(s.waypoint_proxy_detected, true)
    assert.equal(s.requests_by_hop_count['1'], 20)
  } finally {
    await ambient.shutdown()
  }
})

test('a plain client sending Envoy\'s headers, no proxy and no pod fact: an Envoy on the path, not a waypoint; hops and mode agree in /stats and /metrics', async () => {
  const pm = await startServer({ delayUs: 0, meshRefreshMs: 100, podinfoDir: '/nonexistent/podinfo', procNetTcp: '/nonexistent/tcp' })
  const headers = { 'x-envoy-attempt-count': '1', 'x-forwarded-client-cert': 'By=spiffe://cluster.local/ns/a/sa/b', 'x-request-id': 'f00d', 'x-b3-traceid': 'a1b2c3d4e5f60718' }
  try {
    assert.deepEqual([...await load(`${pm.url}/?delay=0`, 20, 2, { headers })], [[200, 20]])
    await waitFor('envoy-on-path', async () => (await getJson(`${pm.url}/stats`)).service_mesh_mode === 'envoy-on-path')
    const s = await getJson(`${pm.url}/stats`, { headers })
    assert.equal(s.service_mesh_mode, 'envoy-on-path')
    assert.equal(s.waypoint_proxy_detected, false)
    assert.equal(s.istio_sidecar_detected, false)
    // Two Envoys by their markers (a client-side router, a server-side mTLS end), placed nowhere.
    assert.deepEqual([s.service_mesh_hops, s.requests_by_hop_count['2'], s.requests_with_tracing_headers], [2, 20, 20])
    assert.deepEqual((s.mesh_evidence as string[]).slice(0, 3), ['no Downward API files in /nonexistent/podinfo', 'cannot read /nonexistent/tcp', 'Envoy admin probe off'])
    assert.match(s.mesh_evidence[3], /^Envoy-made headers .* on \d+ of \d+ requests in the last [\d.]+ s: an Envoy on the path, its place unknown/)
    const metrics = (await request(`${pm.url}/metrics`)).body
    assert.match(metrics, /^podmeter_mesh_info\{mode="envoy-on-path"\} 1$/m)
    assert.doesNotMatch(metrics, /mode="ambient-l7"/)
  } finally {
    await pm.shutdown()
  }
})
