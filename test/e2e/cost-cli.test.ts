// `podmeter load --prometheus` and `podmeter compare --prometheus` end to
// end: real PodMeter servers (their /stats give the pod, namespace and
// node), the real CLI as a child process, and a real Prometheus serving a
// cAdvisor fixture that spans now, so the runs' own measured windows are
// read from it. The fixture's containers burn constant rates, so each
// figure is known whatever the run's timing; only the per-1k figures depend
// on the run, through its own measured rate, which the result carries.

import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { after, before, describe, test } from 'node:test'
import type { Prometheus } from '../../lab/prometheus.js'
import type { Comparison } from '../../src/cli/comparison.js'
import type { ComponentCost } from '../../src/cli/cost/collect.js'
import type { LoadResult } from '../../src/cli/result.js'
import { isNodeName } from '../../src/shared/node-name.js'
import { cadvisorOpenMetrics, type FixtureNode, type FixturePod } from '../fixtures/cadvisor.js'
import { backfilledPrometheus } from '../support/cadvisor-prometheus.js'
import { type Child, runCli, startCli, tempFiles } from '../support/helpers.js'

const file = tempFiles('cost-cli')
/** The server pods' name: PodMeter's /stats hostname, this machine's. */
const HOST = os.hostname()
const NODES: FixtureNode[] = [{ name: 'node-a', ip: '10.0.1.11', phase: 0.123 }, { name: 'node-b', ip: '10.0.1.12', phase: 0.789 }]
const APP = { sidecar: 0.25, waypoint: 2.5 }
const proxy = (cores: number, bytes: number): FixturePod['containers'][number] => ({ name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.24.2', cores, bytes })
const PODS: FixturePod[] = [
  { namespace: 'podmeter-sidecar', name: HOST, node: 'node-a', containers: [{ name: 'podmeter', image: 'podmeter:0.1.0', cores: APP.sidecar, bytes: 50_000_000 }, proxy(0.2, 60_000_000)] },
  { namespace: 'podmeter-waypoint', name: HOST, node: 'node-a', containers: [{ name: 'podmeter', image: 'podmeter:0.1.0', cores: APP.waypoint, bytes: 48_000_000 }] },
  { namespace: 'istio-system', name: 'ztunnel-4xk9p', node: 'node-a', containers: [{ name: 'istio-proxy', image: 'docker.io/istio/ztunnel:1.24.2', cores: 0.06, bytes: 12_000_000 }] },
  { namespace: 'istio-system', name: 'ztunnel-q7w2m', node: 'node-b', containers: [{ name: 'istio-proxy', image: 'docker.io/istio/ztunnel:1.24.2', cores: 0.035, bytes: 11_000_000 }] },
  { namespace: 'podmeter-waypoint', name: 'waypoint-6b8d9f7c5-z9v4n', node: 'node-b', containers: [proxy(0.25, 61_000_000)] }
]
/** Scraped every second, so a 2 s rate() range holds two samples or three. */
const COST = ['--cost-range', '2s', '--cost-step', '1s']
const RUN = ['-q', '--qps', '200', '-c', '4', '-d', '3s', '--warmup', '500ms']
const ENV = { PODMETER_PROMETHEUS: '', NODE_NAME: '' }
const round = (x: number, digits: number): number => Number(x.toFixed(digits))

describe('podmeter load and compare --prometheus', { skip: isNodeName(HOST) ? false : `this machine's hostname ${JSON.stringify(HOST)} is no pod name` }, () => {
  let prom: Prometheus
  let sidecar: Child
  let waypoint: Child

  before(async () => {
    const now = Math.floor(Date.now() / 1000)
    prom = await backfilledPrometheus(cadvisorOpenMetrics([{ style: 'kube-prometheus-stack', from: now - 30, to: now + 600, interval: 1, nodes: NODES, pods: PODS }]), 18602)
    sidecar = await startCli(['serve', '--delay-ms', '0'], { NODE_NAME: 'node-a', POD_NAMESPACE: 'podmeter-sidecar' })
    waypoint = await startCli(['serve', '--delay-ms', '0'], { NODE_NAME: 'node-a', POD_NAMESPACE: 'podmeter-waypoint' })
  })
  after(async () => {
    for (const c of [sidecar, waypoint]) { c?.child.kill('SIGTERM'); await c?.exit }
    await prom?.stop()
  })

  async function load (args: string[], env: Record<string, string> = {}): Promise<{ r: LoadResult, stderr: string }> {
    const run = await runCli(['load', ...RUN, '--json', ...args, `${sidecar.url}/?delay=0`], { ...ENV, ...env })
    assert.equal(run.code, 0, run.stderr)
    return { r: JSON.parse(run.stdout) as LoadResult, stderr: run.stderr }
  }

  test('load: each component of the measured window, per 1k of the run\'s own rate; the queries in the result; the summary', async () => {
    const { r, stderr } = await load(['--prometheus', prom.api, ...COST, '--client-node', 'node-b'])
    const cost = r.cost
    assert.ok(cost.measured, cost.measured ? '' : cost.reason)
    assert.equal(cost.prometheus, prom.api)
    assert.equal(cost.requests_per_second, r.rate)
    assert.ok(Math.abs(cost.window.end - cost.window.start - r.duration_seconds) < 0.01, 'the window is the measured part')
    assert.equal(cost.window.step_s, 1)
    assert.deepEqual(Object.keys(cost.components), ['app', 'sidecar', 'ztunnel', 'ztunnel_client'])
    assert.deepEqual(cost.missing, ['waypoint: no series matched its CPU query in the window'])
    const want: Record<string, [number, number]> = { app: [APP.sidecar, 50], sidecar: [0.2, 60], ztunnel: [0.06, 12], ztunnel_client: [0.035, 11] }
    for (const [name, [cores, mb]] of Object.entries(want)) {
      const c = cost.components[name] as ComponentCost
      assert.ok(c.cpu_cores.samples.length >= 1 && c.cpu_cores.samples.every((s) => s === cores), `${name}: ${JSON.stringify(c.cpu_cores)}`)
      assert.equal(c.cpu_cores.mean, cores, name)
      assert.deepEqual(c.memory_mb, { max: mb, mean: mb }, name)
      assert.equal(c.cpu_cores_per_1k_rps, round((cores / r.rate) * 1000, 6), name)
      assert.equal(c.memory_mb_per_1k_rps, round((mb / r.rate) * 1000, 3), name)
    }
    assert.equal(cost.components.app?.queries.cpu, `rate(container_cpu_usage_seconds_total{namespace="podmeter-sidecar",pod="${HOST}",container="podmeter"}[2s])`)
    assert.equal(r.target_stats?.pod_namespace, 'podmeter-sidecar')
    assert.equal(r.target_stats?.pod_name, HOST)
    assert.match(stderr, new RegExp(`cost {8}from ${prom.api.replace(/\./g, '\\.')}, over the measured`))
    assert.match(stderr, /\n {2}app +0\.250 \(0\.250–0\.250\) +50\.0 /)
    assert.match(stderr, /\n {2}missing {5}waypoint: no series matched/)
  })

  test('without --prometheus the result says so, and nothing else changes', async () => {
    const { r, stderr } = await load([])
    assert.deepEqual(r.cost, { measured: false, reason: 'no --prometheus given' })
    assert.doesNotMatch(stderr, /cost/)
  })

  test('$PODMETER_PROMETHEUS, unreachable: the run still succeeds, the cost is not measured, with the reason on stderr', async () => {
    const { r, stderr } = await load([...COST], { PODMETER_PROMETHEUS: 'http://127.0.0.1:18699' })
    assert.ok(r.responses > 0)
    assert.equal(r.cost.measured, false)
    assert.match(r.cost.measured ? '' : r.cost.reason, /^app: http:\/\/127\.0\.0\.1:18699\/api\/v1\/query_range: connect ECONNREFUSED/)
    assert.match(stderr, /podmeter: cost not measured: app: http:\/\/127\.0\.0\.1:18699\/api\/v1\/query_range: connect ECONNREFUSED/)
  })

  test('--cost-queries: a bad query fails the cost, not the run; an unknown placeholder or a cost option without --prometheus is refused before any load', async () => {
    const bad = file('bad.json')
    writeFileSync(bad, JSON.stringify({ sidecar: { cpu: 'rate(container_cpu_usage_seconds_total{pod="{pod}"}[{range}]', memory: 'container_memory_working_set_bytes{pod="{pod}"}' } }))
    const { r } = await load(['--prometheus', prom.api, ...COST, '--cost-queries', bad])
    assert.equal(r.cost.measured, false)
    assert.match(r.cost.measured ? '' : r.cost.reason, /^sidecar: .*bad_data: .*parse error/)
    const unknown = file('unknown.json')
    writeFileSync(unknown, JSON.stringify({ app: { cpu: 'rate(x{pod="{pods}"}[1m])', memory: 'y' } }))
    const refused = await runCli(['load', ...RUN, '--prometheus', prom.api, '--cost-queries', unknown, `${sidecar.url}/`], ENV)
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /--cost-queries .*unknown\.json: app\.cpu uses \{pods\}; the placeholders are \{namespace\} \{pod\} /)
    const alone = await runCli(['load', ...RUN, '--waypoint', 'w', `${sidecar.url}/`], ENV)
    assert.equal(alone.code, 2)
    assert.match(alone.stderr, /--waypoint is for the cost figures: give --prometheus URL \(or \$PODMETER_PROMETHEUS\)/)
  })

  test('compare: each component\'s vCPU and MB per 1k req/s in the table, judged over the rounds like latency', async () => {
    const out = file('compare.json')
    const html = file('compare.html')
    const run = await runCli(['compare', '--target', `sidecar=${sidecar.url}/?delay=0`, '--target', `waypoint=${waypoint.url}/?delay=0`, '--rounds', '4',
      ...RUN, '--prometheus', prom.api, ...COST, '--client-node', 'node-a', '-o', out, '--html', html], ENV)
    assert.equal(run.code, 0, run.stderr)
    const c = JSON.parse(readFileSync(out, 'utf8')) as Comparison
    for (const t of c.targets) {
      assert.equal(t.rounds.length, 4)
      for (const round_ of t.rounds) {
        assert.ok(round_.cost.measured, round_.cost.measured ? '' : round_.cost.reason)
        const app = round_.cost.components.app as ComponentCost
        const cores = t.name === 'sidecar' ? APP.sidecar : APP.waypoint
        assert.equal(app.cpu_cores.mean, cores)
        assert.equal(app.cpu_cores_per_1k_rps, round((cores / round_.rate) * 1000, 6))
        assert.ok(round_.cost.missing.includes('ztunnel_client: the client runs on the server\'s node (node-a): its ztunnel is the server\'s, counted once'))
      }
    }
    const line = (title: string): string => run.stdout.split('\n').find((l) => l.trimStart().startsWith(title)) ?? ''
    // Ten times the cores at the same requested rate: more, with its interval (4 rounds a side reach 5 %).
    assert.match(line('app vCPU per 1k req/s'), /more by [\d.]+ vCPU \(\+[\d.]+ %; 95 % CI [\d.]+ to [\d.]+ vCPU, p = 0\.029\)/)
    assert.match(line('app MB per 1k req/s'), /MB/)
    // A component only one side has: its figure on that side, no verdict.
    assert.match(line('sidecar vCPU per 1k req/s'), /^ *sidecar vCPU per 1k req\/s +[\d.]+ \([\d.]+–[\d.]+\) +– +– *$/)
    assert.match(line('waypoint vCPU per 1k req/s'), /^ *waypoint vCPU per 1k req\/s +– +[\d.]+ \(/)
    assert.ok(line('ztunnel vCPU per 1k req/s') !== '', 'ztunnel, on both sides')
    assert.match(readFileSync(html, 'utf8'), /waypoint MB per 1k req\/s/, 'and in the HTML report\'s table')
    // Read back from the saved comparison: the same rows.
    const again = await runCli(['compare', out], ENV)
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /app vCPU per 1k req\/s .*more by/)
  })
})
