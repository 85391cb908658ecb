// The cost queries run by the real engine: Prometheus 2.42 serving a
// backfilled cAdvisor fixture (test/fixtures/cadvisor.ts) in both scrape
// setups the default queries know, and collect.ts asking it for the figures
// of a measured window. Every container of the fixture burns a constant
// rate, so the figures must come back as the fixture's own numbers: rate()
// of a linear counter over a range its samples fill is exact, and the figures
// are rounded to 6 decimals (cores) and 3 (MB), far above the float error.

import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { writeFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import type { Prometheus } from '../../lab/prometheus.js'
import { collectCost, type ComponentCost, type Cost, type CostMeasured, type CostTarget } from '../../src/cli/cost/collect.js'
import type { CostOptions } from '../../src/cli/cost/options.js'
import { CADVISOR } from '../../src/cli/cost/queries.js'
import { readQuerySet } from '../../src/cli/cost/templates.js'
import { cadvisorOpenMetrics, NODES, RUN, scenarioPods, type FixtureSection } from '../fixtures/cadvisor.js'
import { backfilledPrometheus } from '../support/cadvisor-prometheus.js'
import { tempFiles } from '../support/helpers.js'

const file = tempFiles('cost')
const T0 = 1_750_000_000
const INTERVAL = 5
const RANGE = 30
/** Nothing listens there (the top of this test's port range). */
const UNREACHABLE = 18699

const SECTIONS: FixtureSection[] = [
  { style: 'kube-prometheus-stack', from: T0, to: T0 + 600, interval: INTERVAL, nodes: NODES, pods: scenarioPods(T0 + 200) },
  // 30 minutes later, past the 5-minute lookback of the first section's series.
  { style: 'istio-sample', from: T0 + 1800, to: T0 + 2400, interval: INTERVAL, nodes: NODES, pods: scenarioPods(T0 + 2000) }
]
/** A measured window of 300 s in each section; the step is the scrape interval, so each memory step sees one sample. */
const WINDOW = { 'kube-prometheus-stack': { start: T0 + 100.25, end: T0 + 400.25 }, 'istio-sample': { start: T0 + 1900.25, end: T0 + 2200.25 } }
const RPS = 800
const CPU_STEPS = (300 - RANGE) / INTERVAL + 1
const MEMORY_STEPS = 300 / INTERVAL + 1

const round = (x: number, digits: number): number => Number(x.toFixed(digits))

describe('cost from Prometheus, over a backfilled cAdvisor fixture', () => {
  let prom: Prometheus
  let options: CostOptions

  before(async () => {
    prom = await backfilledPrometheus(cadvisorOpenMetrics(SECTIONS), 18601)
    options = { prometheus: new URL(prom.api), queries: CADVISOR, stepS: INTERVAL, rangeS: RANGE, namespace: null, waypoint: 'waypoint', waypointNamespace: null, istioNamespace: 'istio-system' }
  })
  after(async () => { await prom?.stop() })

  const target = (style: keyof typeof WINDOW, over: Partial<CostTarget> = {}): CostTarget =>
    ({ ...WINDOW[style], rps: RPS, namespace: RUN.namespace, pod: RUN.pod, node: RUN.serverNode, clientNode: RUN.clientNode, ...over })

  const measured = (cost: Cost): CostMeasured => {
    assert.ok(cost.measured, `not measured: ${cost.measured ? '' : cost.reason}`)
    return cost
  }

  /** A component burning `cores` with a constant working set of `bytes` (max MB = mean MB). */
  const steady = (c: ComponentCost | undefined, cores: number, bytes: number, what: string): void => {
    assert.ok(c !== undefined, `${what} measured`)
    assert.deepEqual(c.cpu_cores, { mean: cores, min: cores, max: cores, samples: Array(CPU_STEPS).fill(cores) }, what)
    assert.equal(c.memory_mb.max, bytes / 1e6, what)
    assert.equal(c.memory_mb.mean, bytes / 1e6, what)
    assert.equal(c.cpu_cores_per_1k_rps, round((cores / RPS) * 1000, 6), what)
    assert.equal(c.memory_mb_per_1k_rps, round((bytes / 1e6 / RPS) * 1000, 3), what)
    assert.equal(c.series, 1, `${what}: one container's series, not its pod's cgroup or the pause container`)
  }

  for (const style of ['kube-prometheus-stack', 'istio-sample'] as const) {
    test(`${style} labels: app, sidecar, both ztunnels and the waypoint, in cores and MB and per 1k req/s, as the fixture burns them`, async () => {
      const cost = measured(await collectCost(options, target(style)))
      assert.deepEqual(Object.keys(cost.components), ['app', 'sidecar', 'ztunnel', 'ztunnel_client', 'waypoint'])
      assert.deepEqual(cost.missing, [])
      assert.deepEqual(cost.window, { ...WINDOW[style], step_s: INTERVAL })
      assert.equal(cost.requests_per_second, RPS)
      assert.equal(cost.prometheus, prom.api)
      // The app's working set has one spiked sample in the window: the max is the spike, the mean counts it once.
      const app = cost.components.app as ComponentCost
      assert.deepEqual(app.cpu_cores, { mean: RUN.app.cores, min: RUN.app.cores, max: RUN.app.cores, samples: Array(CPU_STEPS).fill(RUN.app.cores) })
      assert.equal(app.memory_mb.max, RUN.app.spike / 1e6)
      assert.equal(app.memory_mb.mean, round((RUN.app.bytes * (MEMORY_STEPS - 1) + RUN.app.spike) / MEMORY_STEPS / 1e6, 3))
      assert.equal(app.cpu_cores_per_1k_rps, 0.3125)
      assert.equal(app.memory_mb_per_1k_rps, 65)
      steady(cost.components.sidecar, RUN.sidecar.cores, RUN.sidecar.bytes, 'sidecar')
      steady(cost.components.ztunnel, RUN.ztunnel.cores, RUN.ztunnel.bytes, 'ztunnel on the server\'s node')
      steady(cost.components.ztunnel_client, RUN.ztunnel_client.cores, RUN.ztunnel_client.bytes, 'ztunnel on the client\'s node')
      steady(cost.components.waypoint, RUN.waypoint.cores, RUN.waypoint.bytes, 'waypoint (not waypoint-2, nor the other namespace\'s)')
      // The queries as sent: every placeholder filled.
      assert.equal(app.queries.cpu, `rate(container_cpu_usage_seconds_total{namespace="${RUN.namespace}",pod="${RUN.pod}",container="podmeter"}[30s])`)
      for (const c of Object.values(cost.components)) for (const q of Object.values(c.queries)) assert.doesNotMatch(q, /\{[a-z_]+\}/, q)
      assert.match(cost.components.ztunnel_client?.queries.cpu ?? '', /node="node-b".* or .*instance="node-b"/)
    })
  }

  test('missing components: no sidecar and no waypoint in an ambient namespace, the client on the server\'s node, a node unknown; no answered request', async () => {
    const ambient = measured(await collectCost(options, target('kube-prometheus-stack', { namespace: RUN.ambient.namespace, pod: RUN.ambient.pod, clientNode: RUN.serverNode })))
    assert.deepEqual(Object.keys(ambient.components), ['app', 'ztunnel'])
    assert.equal(ambient.components.app?.cpu_cores.mean, RUN.ambient.cores)
    assert.deepEqual(ambient.missing, [
      'sidecar: no series matched its CPU query in the window',
      'ztunnel_client: the client runs on the server\'s node (node-a): its ztunnel is the server\'s, counted once',
      'waypoint: no series matched its CPU query in the window'
    ])
    const unknown = measured(await collectCost(options, target('kube-prometheus-stack', { node: null, clientNode: null, rps: 0 })))
    assert.deepEqual(Object.keys(unknown.components), ['app', 'sidecar', 'waypoint'])
    assert.deepEqual(unknown.missing, [
      'ztunnel: the server\'s node is unknown: its /stats has no node_name',
      'ztunnel_client: the client\'s node is unknown (give --client-node, or $NODE_NAME)'
    ])
    assert.equal(unknown.components.app?.cpu_cores_per_1k_rps, null, 'no rate, no per-1k figure')
    assert.equal(unknown.components.app?.memory_mb_per_1k_rps, null)
    const noPod = measured(await collectCost(options, target('kube-prometheus-stack', { namespace: null, pod: null })))
    assert.deepEqual(Object.keys(noPod.components), ['ztunnel', 'ztunnel_client'])
    assert.match(noPod.missing.join('\n'), /^app: the server's namespace is unknown: its \/stats has no pod_namespace \(give --namespace\)$/m)
    assert.match(noPod.missing.join('\n'), /^waypoint: the waypoint's namespace is unknown/m)
  })

  test('--waypoint NAMESPACE/NAME reads a waypoint in another namespace', async () => {
    const cost = measured(await collectCost({ ...options, waypointNamespace: 'podmeter-sidecar' }, target('kube-prometheus-stack')))
    assert.equal(cost.components.waypoint?.cpu_cores.mean, 0.8)
  })

  test('an overridden query set: a component replaced, one left out with null, one added; the queries as sent', async () => {
    const path = file('queries.json')
    writeFileSync(path, JSON.stringify({
      // The whole pod, from its own cgroup: both containers and the cgroup's own 0.001.
      app: {
        cpu: 'sum(rate(container_cpu_usage_seconds_total{namespace="{namespace}",pod="{pod}",container="",image=""}[{range}]))',
        memory: 'sum(container_memory_working_set_bytes{namespace="{namespace}",pod="{pod}",container="",image=""})'
      },
      waypoint: null,
      pause: {
        cpu: 'rate(container_cpu_usage_seconds_total{namespace="{namespace}",pod="{pod}",container="",image=~".+/pause:.+"}[{range}])',
        memory: 'container_memory_working_set_bytes{namespace="{namespace}",pod="{pod}",container="",image=~".+/pause:.+"}'
      }
    }))
    const cost = measured(await collectCost({ ...options, queries: readQuerySet(path) }, target('istio-sample')))
    assert.deepEqual(Object.keys(cost.components), ['app', 'sidecar', 'ztunnel', 'ztunnel_client', 'pause'])
    const pod = cost.components.app as ComponentCost
    assert.equal(pod.cpu_cores.mean, round(RUN.app.cores + RUN.sidecar.cores + 0.001, 6))
    assert.equal(pod.memory_mb.max, round((RUN.app.spike + RUN.sidecar.bytes + 466_944 + 1_048_576) / 1e6, 3))
    assert.equal(pod.queries.cpu, `sum(rate(container_cpu_usage_seconds_total{namespace="${RUN.namespace}",pod="${RUN.pod}",container="",image=""}[30s]))`)
    assert.equal(cost.components.pause?.cpu_cores.mean, 0)
    assert.equal(cost.components.pause?.memory_mb.max, 0.467)
    assert.equal(cost.components.sidecar?.cpu_cores.mean, RUN.sidecar.cores, 'the defaults not named stay')
  })

  test('a bad query: the engine\'s parse error, with the component, and the cost not measured', async () => {
    const queries = { ...CADVISOR, sidecar: { cpu: 'rate(container_cpu_usage_seconds_total{pod="{pod}"}[{range}]', memory: CADVISOR.app?.memory as string } }
    const cost = await collectCost({ ...options, queries }, target('kube-prometheus-stack'))
    assert.equal(cost.measured, false)
    assert.match(cost.measured ? '' : cost.reason, /^sidecar: http:\/\/127\.0\.0\.1:18601\/api\/v1\/query_range: bad_data: .*parse error.*\(query: rate\(container_cpu_usage_seconds_total\{pod="podmeter-5f7c9d8b6-k2x7q"\}\[30s\]\)$/)
  })

  test('Prometheus unreachable, or something else at the URL: not measured, and the reason says which', async () => {
    const refused = await collectCost({ ...options, prometheus: new URL(`http://127.0.0.1:${UNREACHABLE}`) }, target('kube-prometheus-stack'))
    assert.equal(refused.measured, false)
    assert.match(refused.measured ? '' : refused.reason, /^app: http:\/\/127\.0\.0\.1:18699\/api\/v1\/query_range: connect ECONNREFUSED/)
    const other = http.createServer((req, res) => {
      if (req.url?.startsWith('/json/') === true) res.writeHead(200, { 'content-type': 'application/json' }).end('null')
      else res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>')
    })
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
    try {
      const cost = await collectCost({ ...options, prometheus: new URL(`http://127.0.0.1:${(other.address() as AddressInfo).port}/grafana`) }, target('kube-prometheus-stack'))
      assert.match(cost.measured ? '' : cost.reason, /\/grafana\/api\/v1\/query_range: answered 404 with a body that is not JSON$/)
      const json = await collectCost({ ...options, prometheus: new URL(`http://127.0.0.1:${(other.address() as AddressInfo).port}/json`) }, target('kube-prometheus-stack'))
      assert.match(json.measured ? '' : json.reason, /\/json\/api\/v1\/query_range: answered 200 with JSON that is not the API's$/)
    } finally {
      other.close()
    }
  })

  test('a window shorter than the rate range is not measured, and nothing is asked', async () => {
    const cost = await collectCost({ ...options, prometheus: new URL(`http://127.0.0.1:${UNREACHABLE}`) }, target('kube-prometheus-stack', { start: T0 + 100, end: T0 + 120 }))
    assert.deepEqual(cost, { measured: false, reason: 'the measured window (20 s) is shorter than the CPU queries\' rate range (30s): run longer (-d) or give a shorter --cost-range' })
  })

  test('credentials in the Prometheus URL are sent, and never written', async () => {
    const url = new URL(prom.api)
    url.username = 'reader'
    url.password = 's3cret'
    url.search = '?token=abc'
    const cost = measured(await collectCost({ ...options, prometheus: url }, target('kube-prometheus-stack')))
    assert.equal(cost.prometheus, prom.api)
    assert.doesNotMatch(JSON.stringify(cost), /s3cret|reader|token/)
  })
})
