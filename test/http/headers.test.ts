import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { countEntries, describeScan, F, MAX_HOPS, meshHops, PROBE, proxyHops, scanHeaders } from '../../src/main/headers.js'
import { getJson, hostileValue, istioHeaders, rawExchange, startServer } from '../support/helpers.js'

const scan = (headers: Array<[string, string]>): number => scanHeaders(headers.flat())

test('Istio traffic: sidecar pair, waypoint, ztunnel, ingress gateway', () => {
  const cases: Array<[string, { proxy_hops: number, mesh_hops: number, envoy_made: boolean, tracing: boolean }]> = [
    // client sidecar (x-envoy-attempt-count) + server sidecar (x-forwarded-client-cert)
    ['sidecar-mtls', { proxy_hops: 0, mesh_hops: 2, envoy_made: true, tracing: true }],
    ['waypoint', { proxy_hops: 0, mesh_hops: 1, envoy_made: true, tracing: false }],
    ['ztunnel', { proxy_hops: 0, mesh_hops: 0, envoy_made: false, tracing: false }],
    // the gateway's XFF entry is the gateway itself (x-envoy-external-address): counted once
    ['ingress-gateway', { proxy_hops: 0, mesh_hops: 2, envoy_made: true, tracing: true }]
  ]
  for (const [name, want] of cases) {
    const d = describeScan(scanHeaders(istioHeaders(name)))
    assert.deepEqual(
      { proxy_hops: d.proxy_hops, mesh_hops: d.mesh_hops, envoy_made: d.envoy_made, tracing: d.markers.includes('tracing') },
      want, name)
  }
})

test('a proxy that adds both X-Forwarded-For and Via is one hop; separate lines all count', () => {
  // Varnish or Squid: both headers, one entry each per proxy.
  assert.equal(proxyHops(scan([['X-Forwarded-For', '198.51.100.4, 10.0.0.2'], ['Via', '1.1 varnish, 1.1 squid']])), 2)
  // HAProxy adds X-Forwarded-For as a new line rather than appending.
  assert.equal(proxyHops(scan([['X-Forwarded-For', '198.51.100.4'], ['x-forwarded-for', '10.0.0.2'], ['X-Forwarded-For', '10.0.0.3']])), 3)
  // Via only (a proxy configured without XFF) still counts.
  assert.equal(proxyHops(scan([['Via', '1.1 a, 1.1 b'], ['X-Forwarded-For', '198.51.100.4']])), 2)
  assert.equal(proxyHops(scan([['X-Forwarded-For', '']])), 0)
})

test('markers: tracing is no hop, x-request-id alone is no hop, a probe is a probe', () => {
  const traced = scan([['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'], ['X-B3-TraceId', 'abc']])
  assert.equal(proxyHops(traced) + meshHops(traced), 0)
  assert.ok((traced & F.TRACING) !== 0)
  const nginxId = scan([['X-Request-ID', 'f2a1c0e9d8b7a6f5e4d3c2b1a0f9e8d7']])
  assert.equal(meshHops(nginxId), 0, 'nginx and clients set x-request-id too')
  assert.equal(nginxId & F.ENVOY_MADE, 0)
  const someEnvoy = scan([['x-request-id', 'x'], ['x-envoy-decorator-operation', 'svc:80/*']])
  assert.equal(meshHops(someEnvoy), 1)
  assert.ok((someEnvoy & F.ENVOY_MADE) !== 0)
  assert.equal(scan([['User-Agent', 'kube-probe/1.31'], ['X-Forwarded-For', '1.2.3.4']]), PROBE)
  assert.deepEqual(describeScan(PROBE).markers, ['kube-probe'])
})

test('absurd headers cost what MAX_HOPS entries cost, and count MAX_HOPS', () => {
  const huge = Array.from({ length: 100_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`).join(', ')
  assert.equal(countEntries(huge, MAX_HOPS), MAX_HOPS)
  assert.equal(proxyHops(scan([['X-Forwarded-For', huge], ['Via', huge], ['X-Forwarded-For', huge]])), MAX_HOPS)
  assert.equal(proxyHops(scan(Array.from({ length: 500 }, (): [string, string] => ['x-forwarded-for', '1.1.1.1, 2.2.2.2']))), MAX_HOPS)
})

test('property: proxy hops are min(MAX_HOPS, max(XFF entries, Via entries)), whatever the lines', () => {
  const line = fc.tuple(
    fc.constantFrom('X-Forwarded-For', 'x-forwarded-for', 'Via', 'VIA', 'X-Real-IP', 'x-b3-spanid'),
    fc.array(fc.stringMatching(/^[0-9a-f.: ]{1,12}$/), { minLength: 1, maxLength: 80 }).map((parts) => parts.join(','))
  )
  fc.assert(fc.property(fc.array(line, { maxLength: 12 }), (lines) => {
    let xff = 0
    let via = 0
    for (const [name, value] of lines) {
      const n = value.split(',').length
      if (name.toLowerCase() === 'x-forwarded-for') xff += n
      else if (name.toLowerCase() === 'via') via += n
    }
    const s = scanHeaders(lines.flat())
    assert.equal(proxyHops(s), Math.min(MAX_HOPS, Math.max(xff, via)))
    assert.equal(meshHops(s), 0)
  }))
})

test('property: any letter case, any order, the same as a plain reading of the rules', () => {
  const names = ['X-Forwarded-For', 'Via', 'X-Request-Id', 'X-Forwarded-Client-Cert', 'X-Envoy-Attempt-Count', 'X-Envoy-External-Address',
    'X-Envoy-Decorator-Operation', 'X-B3-TraceId', 'B3', 'Traceparent', 'X-Forwarded-Proto', 'X-Real-IP', 'Accept', 'X-', 'X-Envoy-']
  const anyCase = (name: string): fc.Arbitrary<string> => fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((upper) => [...name].map((c, i) => (upper[i] === true ? c.toUpperCase() : c.toLowerCase())).join(''))
  const line = fc.tuple(fc.constantFrom(...names).chain(anyCase), fc.constantFrom('10.0.0.1', '10.0.0.1, 10.0.0.2', '1'))
  fc.assert(fc.property(fc.array(line, { maxLength: 10 }), (lines) => {
    const has = (n: string): boolean => lines.some(([name]) => name.toLowerCase() === n)
    const entries = (n: string): number => lines.filter(([name]) => name.toLowerCase() === n).reduce((a, [, v]) => a + v.split(',').length, 0)
    const envoyOther = lines.some(([name]) => name.toLowerCase().startsWith('x-envoy-') && name.toLowerCase() !== 'x-envoy-attempt-count')
    let mesh = (has('x-envoy-attempt-count') ? 1 : 0) + (has('x-forwarded-client-cert') ? 1 : 0)
    if (mesh === 0 && has('x-request-id') && envoyOther) mesh = 1
    let proxy = Math.max(entries('x-forwarded-for'), entries('via'))
    if (has('x-envoy-external-address') && mesh > 0 && proxy > 0) proxy--
    const tracing = lines.some(([name]) => /^(x-b3-.+|b3|traceparent)$/.test(name.toLowerCase()))
    const d = describeScan(scanHeaders(lines.flat()))
    assert.deepEqual([d.proxy_hops, d.mesh_hops, d.markers.includes('tracing'), d.envoy_made],
      [proxy, mesh, tracing, has('x-request-id') && (mesh > 0 || envoyOther)], JSON.stringify(lines))
  }), { numRuns: 500 })
})

test('GET /debug/headers shows the request as it arrived, credentials redacted', async () => {
  const pm = await startServer({ delayUs: 0, envoyAdmin: 'off' })
  try {
    const d = await getJson(`${pm.url}/debug/headers`, {
      headers: Object.fromEntries([
        ['Authorization', 'Bearer secret-token'],
        ['Cookie', 'session=secret'],
        ['Proxy-Authorization', 'Basic c2VjcmV0'],
        ['X-Forwarded-For', ['198.51.100.4', '10.0.0.2']],
        ['x-request-id', 'abc'],
        ['x-envoy-attempt-count', '1'],
        ['__proto__', 'still a header']
      ])
    })
    assert.equal(d.remote_address, '127.0.0.1')
    assert.equal(typeof d.remote_port, 'number')
    assert.equal(d.method, 'GET')
    assert.equal(d.headers.authorization, '[redacted]')
    assert.equal(d.headers.cookie, '[redacted]')
    assert.equal(d.headers['proxy-authorization'], '[redacted]')
    assert.ok(!JSON.stringify(d).includes('secret'))
    assert.equal(d.headers['x-request-id'], 'abc', 'what is not a secret is shown')
    assert.deepEqual(d.headers['x-forwarded-for'], ['198.51.100.4', '10.0.0.2'])
    assert.equal(Object.getOwnPropertyDescriptor(d.headers, '__proto__')?.value, 'still a header')
    assert.deepEqual(d.hops, { proxy_hops: 2, mesh_hops: 1, total_hops: 3, envoy_made: true, markers: ['x-forwarded-for', 'x-envoy-attempt-count', 'x-request-id'] })
    const s = await getJson(`${pm.url}/stats`)
    assert.equal(s.requests, 0, '/debug/headers is not measured')
  } finally {
    await pm.shutdown()
  }
})

// Every header whose name says secret, as gateways, clouds, webhooks and
// frameworks name them; each value carries a word the response must not.
const SECRET_HEADERS = [
  'X-Api-Key', 'X-Auth-Token', 'x-amz-security-token', 'X-Hub-Signature-256', 'Set-Cookie', 'Cookie2',
  'X-Goog-IAP-JWT-Assertion', 'X-CSRF-Token', 'X-XSRF-TOKEN', 'X-Session-Id', 'X-User-Password', 'x-client-secret',
  'Sec-WebSocket-Key', 'X-Amz-Credential', 'Private-Token', 'X-Shopify-Hmac-Sha256-Signature', 'Www-Authenticate', 'x-upstream-authz'
]

test('GET /debug/headers redacts every header whose name says secret, whatever its case, on every line', async () => {
  const pm = await startServer({ delayUs: 0, envoyAdmin: 'off' })
  try {
    const raw = SECRET_HEADERS.map((name, i) => `${name}: hush-${i}\r\n`).join('') + 'X-Api-Key: hush-again\r\nUser-Agent: curl/8.5.0\r\nX-Forwarded-Client-Cert: By=spiffe://cluster.local/ns/a/sa/b\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n'
    const port = Number(new URL(pm.url).port)
    const x = await rawExchange(port, `GET /debug/headers HTTP/1.1\r\nHost: t\r\n${raw}\r\n`)
    assert.equal(x.responses[0]?.status, 200)
    const body = x.responses[0]?.body ?? ''
    assert.ok(!body.includes('hush'), body)
    const d = JSON.parse(body)
    for (const name of SECRET_HEADERS) assert.ok(name.toLowerCase() in d.headers, name)
    for (const name of SECRET_HEADERS.filter((n) => n !== 'X-Api-Key')) assert.equal(d.headers[name.toLowerCase()], '[redacted]', name)
    assert.deepEqual(d.headers['x-api-key'], ['[redacted]', '[redacted]'])
    assert.equal(d.headers['user-agent'], 'curl/8.5.0')
    assert.equal(d.headers['x-forwarded-client-cert'], 'By=spiffe://cluster.local/ns/a/sa/b', 'a client certificate is not a secret: the mesh evidence stays')
    assert.match(d.headers.traceparent, /^00-/)
    assert.equal((await getJson(`${pm.url}/stats`)).requests, 0, '/debug/headers is not measured')
  } finally {
    await pm.shutdown()
  }
})

/**
 * A header value of `entries` comma-separated entries that counts the
 * indexOf calls made on it: the work countEntries does, whatever the length.
 */
function countedValue (entries: number, work: { calls: number }): string {
  const length = entries * 2 - 1
  return {
    length,
    indexOf: (_c: string, from = 0): number => {
      work.calls++
      const next = from % 2 === 1 ? from : from + 1
      return next < length ? next : -1
    },
    startsWith: () => false
  } as unknown as string
}

test('property: countEntries makes at most `limit` indexOf calls, whatever the entries', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: -5, max: 200 }), (entries, limit) => {
    const work = { calls: 0 }
    const n = countEntries(countedValue(entries, work), limit)
    assert.equal(n, limit <= 0 ? 0 : Math.min(entries, limit))
    assert.ok(work.calls <= Math.max(0, limit), `${work.calls} calls`)
  }), { numRuns: 500 })
})

test('property: a scan costs at most 2 × MAX_HOPS indexOf calls plus one per XFF or Via line, however many entries', () => {
  const line = fc.tuple(fc.constantFrom('X-Forwarded-For', 'x-forwarded-for', 'Via', 'VIA', 'x-envoy-attempt-count', 'x-b3-traceid'), fc.integer({ min: 1, max: 1_000_000 }))
  fc.assert(fc.property(fc.array(line, { maxLength: 1000 }), (lines) => {
    const work = { calls: 0 }
    const s = scanHeaders(lines.flatMap(([name, entries]) => [name, countedValue(entries, work)]))
    const counted = lines.filter(([name]) => /^(x-forwarded-for|via)$/i.test(name)).length
    assert.ok(work.calls <= 2 * MAX_HOPS + counted, `${work.calls} calls for ${counted} lines`)
    assert.ok(proxyHops(s) <= MAX_HOPS)
  }), { numRuns: 300 })
})

test('property: any raw headers, however hostile, scan without throwing to a probe or bounded counts', () => {
  const name = fc.oneof(
    fc.constantFrom('X-Forwarded-For', 'x-forwarded-for', 'Via', 'User-Agent', 'x-envoy-attempt-count', 'X-Request-Id', 'b3', 'traceparent',
      'x-b3-traceid', 'x-forwarded-client-cert', 'x-envoy-external-address', 'x-envoy-', 'x-', '', '__proto__', 'constructor'),
    fc.string({ unit: 'binary', maxLength: 30 })
  )
  fc.assert(fc.property(fc.array(fc.tuple(name, hostileValue), { maxLength: 60 }), (lines) => {
    const s = scanHeaders(lines.flat())
    if (s === PROBE) return
    assert.ok(s >= 0 && proxyHops(s) <= MAX_HOPS && meshHops(s) <= 2)
    const d = describeScan(s)
    assert.equal(d.total_hops, d.proxy_hops + d.mesh_hops)
  }), { numRuns: 1000 })
})
