// /stats decodes as the Go original's Stats struct does: every key of the
// original, each with the JSON type of its Go field (an int64 gets an integer
// literal, never 9.113), read from a real server over a real socket: fresh
// (every counter 0, uptime 0 s), after traffic, and with hop headers on the
// /stats request itself. docs/stats.md's table of the original's keys says
// the same types.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type Child, load, request, ROOT, startCli } from '../support/helpers.js'
import { goDecodeErrors, JSON_TYPE, ORIGINAL_STATS, topLevelLiterals } from '../support/original-stats.js'

const stop = async (c: Child): Promise<void> => { c.child.kill('SIGTERM'); await c.exit }

describe('/stats, decoded with the original\'s types', () => {
  let pm: Child
  before(async () => { pm = await startCli(['serve', '--delay-ms', '0'], { NODE_NAME: 'worker-2.zone-b.example', POD_NAMESPACE: 'podmeter-sidecar' }) })
  after(async () => { await stop(pm) })

  test('fresh: every counter 0, every integer key an integer literal, nothing missing', async () => {
    const r = await request(`${pm.url}/stats`)
    assert.equal(r.status, 200)
    assert.deepEqual(goDecodeErrors(r.body), [])
    const s = JSON.parse(r.body) as Record<string, unknown>
    for (const key of ['requests', 'errors', 'requests_via_proxy', 'proxy_hop_count', 'service_mesh_hops', 'total_hop_count', 'current_hop_count']) {
      assert.equal(s[key], 0, key)
    }
    assert.equal(s.success_rate_percent, null, 'no request yet')
    assert.ok(!('debug_headers' in s), 'omitempty in the original; PodMeter echoes no request headers into /stats')
  })

  test('uptime_seconds is whole seconds, floor of uptime_ms', async () => {
    const s = JSON.parse((await request(`${pm.url}/stats`)).body) as { uptime_seconds: number, uptime_ms: number }
    assert.ok(Number.isInteger(s.uptime_seconds) && s.uptime_seconds >= 0)
    assert.ok(typeof s.uptime_ms === 'number' && s.uptime_ms > 0)
    // Two reads of one clock a few µs apart: the same second, or the next.
    assert.ok([0, 1].includes(Math.floor(s.uptime_ms / 1000) - s.uptime_seconds), `${s.uptime_seconds} s, ${s.uptime_ms} ms`)
  })

  test('after traffic, with hops on the /stats request: current_hop_count is the original\'s sum', async () => {
    const counts = await load(`${pm.url}/?delay=0&status=503:30`, 400, 8, { headers: { 'x-forwarded-for': '10.0.0.1' } })
    assert.equal((counts.get(200) ?? 0) + (counts.get(503) ?? 0), 400)
    const r = await request(`${pm.url}/stats`, {
      // Two proxies, and the markers of a sidecar pair (docs/mesh.md): two mesh hops.
      headers: { 'x-forwarded-for': '10.0.0.1, 10.0.0.2', via: '1.1 edge', 'x-request-id': 'a1', 'x-envoy-attempt-count': '1', 'x-forwarded-client-cert': 'By=spiffe://cluster.local/ns/a/sa/b;URI=spiffe://cluster.local/ns/c/sa/d' }
    })
    assert.deepEqual(goDecodeErrors(r.body), [])
    const s = JSON.parse(r.body) as Record<string, number>
    assert.equal(s.requests, 400)
    assert.equal(s.errors, counts.get(503) ?? 0)
    assert.equal(s.requests_via_proxy, 400)
    assert.ok((s.proxy_hop_count as number) > 0 && (s.service_mesh_hops as number) > 0, JSON.stringify({ p: s.proxy_hop_count, m: s.service_mesh_hops }))
    assert.equal(s.total_hop_count, (s.proxy_hop_count as number) + (s.service_mesh_hops as number))
    assert.equal(s.current_hop_count, s.total_hop_count)
    assert.equal(typeof s.avg_proxy_hops, 'number')
  })

  test('node_name: the pod\'s NODE_NAME (the Downward API\'s spec.nodeName)', async () => {
    const s = JSON.parse((await request(`${pm.url}/stats`)).body) as { node_name: unknown }
    assert.equal(s.node_name, 'worker-2.zone-b.example')
  })

  test('pod_namespace: the pod\'s POD_NAMESPACE (the Downward API\'s metadata.namespace)', async () => {
    const s = JSON.parse((await request(`${pm.url}/stats`)).body) as { pod_namespace: unknown }
    assert.equal(s.pod_namespace, 'podmeter-sidecar')
  })
})

test('a NODE_NAME that is no node name, or a POD_NAMESPACE that is no namespace, is not echoed: null; without one, null', async () => {
  for (const env of [{ NODE_NAME: 'Bad_Name <script>', POD_NAMESPACE: 'Bad"ns' }, { NODE_NAME: '', POD_NAMESPACE: '' }, { NODE_NAME: 'a'.repeat(300), POD_NAMESPACE: 'a.b' }]) {
    const pm = await startCli(['serve', '--delay-ms', '0'], env)
    try {
      const r = await request(`${pm.url}/stats`)
      assert.deepEqual(goDecodeErrors(r.body), [])
      assert.equal((JSON.parse(r.body) as { node_name: unknown }).node_name, null, JSON.stringify(env).slice(0, 60))
      assert.equal((JSON.parse(r.body) as { pod_namespace: unknown }).pod_namespace, null, JSON.stringify(env).slice(0, 60))
    } finally {
      await stop(pm)
    }
  }
})

test('the strict decoder is not a formality: it refuses what Go refuses', () => {
  const good = JSON.parse(readFileSync(join(ROOT, 'docs/stats.md'), 'utf8').split('```json\n')[1]?.split('```')[0] ?? '{}') as Record<string, unknown>
  assert.deepEqual(goDecodeErrors(JSON.stringify(good)), [], 'the example in docs/stats.md decodes')
  const bad = (patch: Record<string, unknown>): string[] => goDecodeErrors(JSON.stringify({ ...good, ...patch }))
  assert.match(bad({ uptime_seconds: 22.883 }).join(), /uptime_seconds \(int64\): 22\.883 is not an integer literal/)
  assert.match(bad({ requests: '5' }).join(), /requests \(int64\)/)
  assert.match(bad({ num_gc: -1 }).join(), /num_gc \(uint32\): -1 overflows/)
  assert.match(bad({ num_gc: 2 ** 32 }).join(), /overflows uint32/)
  assert.match(bad({ proxy_detected: 1 }).join(), /not true or false/)
  assert.match(bad({ hostname: null }).join(), /hostname \(string\): null/)
  assert.match(bad({ current_hop_count: undefined }).join(), /current_hop_count \(int\): missing/)
  assert.match(goDecodeErrors(JSON.stringify(good).replace('"uptime_seconds":9', '"uptime_seconds":9.0')).join(), /9\.0 is not an integer literal/)
  assert.match(goDecodeErrors(JSON.stringify(good).replace('"requests":20000', '"requests":2e4')).join(), /2e4 is not an integer literal/)
  assert.deepEqual([...topLevelLiterals('{"a":{"b":[1,"}"]},"c":"x\\"y","d":-0.5}')], [['a', '{"b":[1,"}"]}'], ['c', '"x\\"y"'], ['d', '-0.5']])
})

test('docs/stats.md lists every key of the original with its type', () => {
  const doc = readFileSync(join(ROOT, 'docs/stats.md'), 'utf8')
  const table = doc.slice(doc.indexOf('**The Go original\'s keys**'), doc.indexOf('**Keys PodMeter adds**'))
  const types = new Map<string, string>()
  for (const line of table.split('\n').filter((l) => l.startsWith('| `'))) {
    const [keys = '', type = ''] = line.split(' | ')
    for (const k of keys.matchAll(/`([a-z0-9_]+)`/g)) types.set(k[1] as string, type.trim())
  }
  for (const [key, spec] of Object.entries(ORIGINAL_STATS)) {
    const documented = types.get(key)
    assert.ok(documented !== undefined, `${key} is in the original's table`)
    if (spec.optional === true) { assert.match(documented, /^absent/, `${key}: PodMeter never sends it`); continue }
    const want = { integer: 'int', number: 'num', boolean: 'bool', string: 'str', object: 'object' }[JSON_TYPE[spec.go]]
    assert.equal(documented.split(' ')[0], want, `${key}: ${documented}`)
    assert.equal(documented.includes('null'), spec.nullable === true, `${key}: null documented as in the schema`)
  }
})
