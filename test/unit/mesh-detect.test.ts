import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { add, C, create, inc, type Views } from '../../src/shared/layout.js'
import { MeshDetector, readListeningPorts, type MeshDetectOptions } from '../../src/main/mesh-detect.js'
import { parseDownwardApi, unquoteGo } from '../../src/main/mesh-facts.js'
import { fixturePod, ROOT, startFakeEnvoyAdmin, waitFor, writePodInfo } from '../support/helpers.js'

const layout = { ringCapacity: 1024, lowestUs: 1, highestUs: 60_000_000, digits: 3, windowSeconds: 10 }
const detectors: MeshDetector[] = []
after(() => { for (const d of detectors) d.close() })

async function detect (pod: string, extra: Partial<MeshDetectOptions> = {}): Promise<{ detector: MeshDetector, views: Views }> {
  const views = extra.views ?? create(layout)
  const { podinfoDir, procNetTcp } = fixturePod(pod)
  const detector = new MeshDetector({ podinfoDir, procNetTcp: procNetTcp.split(','), envoyAdmin: undefined, refreshMs: 600_000, views, ...extra })
  detectors.push(detector)
  await detector.start()
  return { detector, views }
}

/** What the hot path counts for `n` measured requests, `envoyMade` of them with Envoy-made headers. */
function served (views: Views, n: number, envoyMade: number): void {
  add(views.counters, C.REQUESTS, n)
  add(views.counters, C.ENVOY_MADE, envoyMade)
}

test('Downward API files: Go-quoted values, as the kubelet writes them', () => {
  assert.equal(unquoteGo('"a\\"b\\\\c\\n\\t\\u00e9\\x41\\101"'), 'a"b\\c\n\té' + 'AA')
  const annotations = parseDownwardApi(readFileSync(join(ROOT, 'test/fixtures/pods/sidecar/podinfo/annotations'), 'utf8'))
  const status = JSON.parse(annotations.get('sidecar.istio.io/status') as string)
  assert.deepEqual(status.containers, ['istio-proxy'])
  assert.equal(annotations.get('prometheus.io/port'), '15020')
  assert.deepEqual([...parseDownwardApi('broken line\n=x\nk="v"\n')], [['k', 'v']])
})

test('/proc/net/tcp: only listening sockets count, IPv4 and IPv6', async () => {
  const read = async (pod: string, file: string): Promise<number[]> => {
    const ports = new Set<number>()
    await readListeningPorts(join(ROOT, 'test/fixtures/pods', pod, 'net', file), ports)
    return [...ports].sort((a, b) => a - b)
  }
  assert.deepEqual(await read('none', 'tcp'), [8080], 'a connection to 15008 elsewhere is not a listener')
  assert.deepEqual(await read('sidecar', 'tcp'), [8080, 15000, 15001, 15004, 15006, 15021, 15090])
  assert.deepEqual(await read('sidecar', 'tcp6'), [15020])
  assert.deepEqual(await read('ambient', 'tcp6'), [15001, 15006, 15008])
})

test('a pod with 100,000 sockets: only the listening table is read', async () => {
  const sidecar = readFileSync(join(ROOT, 'test/fixtures/pods/sidecar/net/tcp'), 'utf8').split('\n')
  const listeners = sidecar.filter((l) => / 0A /.test(l))
  const timeWait = Array.from({ length: 100_000 }, (_, i) =>
    `${String(i + 9).padStart(6)}: 1201F40A:1F90 0502F40A:${(1024 + (i % 60000)).toString(16).toUpperCase().padStart(4, '0')} 06 00000000:00000000 03:00001234 00000000     0        0 0 3 0000000000000000`)
  // A listener after the established table would be a kernel we do not know: it is not read.
  const late = '100009: 00000000:3AA0 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0'
  const dir = mkdtempSync(join(tmpdir(), 'podmeter-tcp-'))
  try {
    const file = join(dir, 'tcp')
    writeFileSync(file, [sidecar[0], ...listeners, ...timeWait, late, ''].join('\n'))
    const ports = new Set<number>()
    const bytes = await readListeningPorts(file, ports)
    assert.deepEqual([...ports].sort((a, b) => a - b), [8080, 15000, 15001, 15004, 15006, 15021, 15090])
    assert.ok(bytes !== undefined && bytes <= 32 * 1024, `read ${String(bytes)} bytes of ${statSync(file).size}`)
    assert.equal(await readListeningPorts(join(dir, 'missing'), ports), undefined)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('this machine\'s kernel: a listener of ours is in what readListeningPorts reads', async () => {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const ports = new Set<number>()
    assert.ok(await readListeningPorts('/proc/net/tcp', ports) !== undefined)
    assert.ok(ports.has((server.address() as net.AddressInfo).port))
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
})

test('fixture pods: none, sidecar, ambient (ztunnel), with the facts that decided', async () => {
  const none = (await detect('none')).detector.view
  assert.equal(none.mode, 'none')
  assert.equal(none.sidecar, false)
  assert.deepEqual(none.evidence, [`no Istio annotation in ${fixturePod('none').podinfoDir}`, 'no Istio port listens in the pod', 'Envoy admin probe off'])

  const sidecar = (await detect('sidecar')).detector.view
  assert.equal(sidecar.mode, 'sidecar')
  assert.equal(sidecar.sidecar, true)
  assert.match(sidecar.evidence[0] as string, /^annotation sidecar\.istio\.io\/status: Istio injected istio-init, istio-proxy$/)
  assert.match(sidecar.evidence[1] as string, /15000 \(Envoy admin\).*15021 \(sidecar health\).*15090 \(Envoy Prometheus\): a sidecar's Envoy$/)
  assert.equal(sidecar.sidecarMemory, undefined, 'no admin answered: no sidecar memory')

  const ambient = (await detect('ambient')).detector.view
  assert.equal(ambient.mode, 'ambient-l4')
  assert.deepEqual(ambient.evidence.slice(0, 2), [
    'annotation ambient.istio.io/redirection=enabled',
    'listening in the pod: 15001 (outbound capture), 15006 (inbound capture), 15008 (HBONE), 15053 (DNS proxy), and not 15000: ztunnel\'s in-pod listeners'
  ])

  const waypointLabel = (await detect('ambient-waypoint')).detector.view
  assert.equal(waypointLabel.mode, 'ambient-l4', 'a use-waypoint label is reported, but traffic decides')
  assert.ok(waypointLabel.evidence.includes('label istio.io/use-waypoint=waypoint'))
  assert.ok(waypointLabel.evidence.includes('label istio.io/dataplane-mode=ambient'))
})

test('each fact alone is enough: ports without podinfo, 15008 without annotation', async () => {
  const ports = await detect('none', { procNetTcp: fixturePod('sidecar').procNetTcp.split(',') })
  assert.equal(ports.detector.view.mode, 'sidecar')
  const hbone = await detect('none', { procNetTcp: fixturePod('ambient').procNetTcp.split(',') })
  assert.equal(hbone.detector.view.mode, 'ambient-l4')
  const nothing = await detect('none', { podinfoDir: '/nonexistent/podinfo', procNetTcp: ['/nonexistent/tcp'] })
  assert.equal(nothing.detector.view.mode, 'none')
  assert.deepEqual(nothing.detector.view.evidence.slice(0, 2), ['no Downward API files in /nonexistent/podinfo', 'cannot read /nonexistent/tcp'])
})

test('Envoy admin: a real listener makes a sidecar and gives its memory', async () => {
  const admin = await startFakeEnvoyAdmin()
  try {
    const { detector } = await detect('none', { envoyAdmin: admin.address })
    const v = detector.view
    assert.equal(v.mode, 'sidecar')
    assert.ok(v.evidence.includes(`Envoy admin answers on ${admin.address}`))
    assert.deepEqual(v.sidecarMemory, { allocated: 7065960, heapSize: 10485760, physical: 12582912 })
    assert.equal(admin.hits(), 1, 'probed once at start, then only by the timer')
  } finally {
    await admin.close()
  }
})

test('headers: Envoy-made on most recent requests and no sidecar = waypoint; idle keeps the verdict', async () => {
  const { detector, views } = await detect('ambient')
  served(views, 100, 97)
  await detector.refresh()
  assert.equal(detector.view.mode, 'ambient-l7')
  assert.equal(detector.view.waypoint, true)
  assert.match(detector.view.evidence.at(-1) as string, /on 97 of 100 requests in the last [\d.]+ s, and no sidecar: a waypoint$/)
  await detector.refresh()
  assert.equal(detector.view.mode, 'ambient-l7', 'no requests since: unchanged')
  served(views, 100, 3)
  await detector.refresh()
  assert.equal(detector.view.mode, 'ambient-l4', 'a few requests through a gateway are not a waypoint')
  assert.match(detector.view.evidence.at(-1) as string, /on 3 of 100 .*too few for a waypoint$/)
  // /stats/reset zeroes the counters: the next period counts from zero,
  // even when as many requests come after it as before.
  const zero = (): void => { for (let i = 0; i < C.MAIN_THREAD_END; i++) Atomics.store(views.counters, i * 2, 0) }
  zero()
  detector.countersReset()
  served(views, 200, 200)
  await detector.refresh()
  assert.equal(detector.view.mode, 'ambient-l7')
  assert.match(detector.view.evidence.at(-1) as string, /on 200 of 200 requests/)
  zero() // not announced: seen as counters going back
  served(views, 10, 0)
  await detector.refresh()
  assert.equal(detector.view.mode, 'ambient-l4')
  assert.match(detector.view.evidence.at(-1) as string, /no Envoy-made headers on the 10 requests/)
})

test('headers alone: an Envoy on the path, its place unknown; never a waypoint nor a sidecar', async () => {
  // What a plain client sending Envoy's headers, a gateway, or a client's
  // sidecar in front of an unmeshed pod all look like: no pod fact.
  const plain = await detect('none')
  served(plain.views, 5, 5)
  await plain.detector.refresh()
  const v = plain.detector.view
  assert.equal(v.mode, 'envoy-on-path')
  assert.deepEqual([v.sidecar, v.waypoint, v.envoyOnPath], [false, false, true])
  assert.match(v.evidence.at(-1) as string, /on 5 of 5 requests in the last [\d.]+ s: an Envoy on the path, its place unknown \(no pod fact shows a sidecar or ambient/)
  served(plain.views, 100, 3)
  await plain.detector.refresh()
  assert.equal(plain.detector.view.mode, 'none', 'a few requests through an Envoy do not describe the path')
  assert.match(plain.detector.view.evidence.at(-1) as string, /on 3 of 100 .*too few for an Envoy on the path of most requests$/)

  const sidecar = await detect('sidecar')
  served(sidecar.views, 5, 5)
  inc(sidecar.views.counters, C.REQUESTS)
  await sidecar.detector.refresh()
  assert.equal(sidecar.detector.view.mode, 'sidecar')
  assert.equal(sidecar.detector.view.waypoint, false)
})

test('the dataplane-mode label alone is an ambient fact; use-waypoint alone is not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podmeter-podinfo-'))
  try {
    const annotations = readFileSync(join(ROOT, 'test/fixtures/pods/none/podinfo/annotations'), 'utf8')
    writePodInfo(dir, { labels: 'app="podmeter"\nistio.io/use-waypoint="waypoint"\n', annotations })
    const waypointOnly = await detect('none', { podinfoDir: dir })
    served(waypointOnly.views, 10, 10)
    await waypointOnly.detector.refresh()
    assert.equal(waypointOnly.detector.view.mode, 'envoy-on-path', 'a label naming a waypoint does not put this pod in ambient')
    waypointOnly.detector.close()

    writePodInfo(dir, { labels: 'app="podmeter"\nistio.io/dataplane-mode="ambient"\n', annotations })
    const labelled = await detect('none', { podinfoDir: dir })
    assert.equal(labelled.detector.view.mode, 'ambient-l4')
    assert.equal(labelled.detector.view.evidence[0], 'label istio.io/dataplane-mode=ambient')
    served(labelled.views, 10, 10)
    await labelled.detector.refresh()
    assert.equal(labelled.detector.view.mode, 'ambient-l7')
    assert.equal(labelled.detector.view.waypoint, true)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('an annotation added while running shows without waiting for the timer (kubelet-style swap)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podmeter-podinfo-'))
  try {
    const labels = readFileSync(join(ROOT, 'test/fixtures/pods/none/podinfo/labels'), 'utf8')
    const annotations = readFileSync(join(ROOT, 'test/fixtures/pods/none/podinfo/annotations'), 'utf8')
    writePodInfo(dir, { labels, annotations })
    // The timer is 10 minutes away: only the watch can see the change.
    const { detector } = await detect('none', { podinfoDir: dir })
    assert.equal(detector.view.mode, 'none')
    writePodInfo(dir, { labels, annotations: annotations + 'ambient.istio.io/redirection="enabled"\n' })
    await waitFor('mode ambient-l4 after the annotation', () => detector.view.mode === 'ambient-l4')
    assert.ok(detector.view.evidence.includes('annotation ambient.istio.io/redirection=enabled'))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
