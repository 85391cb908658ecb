// The fleet projection's arithmetic, exactly, on result files in the shape
// of issue 19's `cost` (test/fixtures/results): the figures are binary
// fractions, so every product and sum below is exact in a double and is
// asserted with ===, not within a tolerance. Then what a run must carry to
// be used: cost, measured, each component the fleet needs, finite numbers.

import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { FleetInputError, readSide } from '../../src/cli/fleet-input.js'
import { mbToGib, project } from '../../src/cli/fleet.js'
import { ROOT, tempFiles } from '../support/helpers.js'

const fixture = (name: string): string => join(ROOT, 'test/fixtures/results', `${name}.json`)
const tmp = tempFiles('fleet')
const load = (name: string): Record<string, any> => JSON.parse(readFileSync(fixture(name), 'utf8'))

/** A copy of a fixture with `edit` applied, written to a temporary file. */
function variant (name: string, file: string, edit: (doc: Record<string, any>) => void): string {
  const doc = load(name)
  edit(doc)
  const path = tmp(file)
  writeFileSync(path, JSON.stringify(doc))
  return path
}

test('200 pods over 20 nodes at 50 req/s, 2 waypoints: every figure exact', async () => {
  const sides = [await readSide('sidecar', [fixture('sidecar')]), await readSide('ambient', [fixture('ambient')])]
  const p = project({ pods: 200, nodes: 20, rpsPerPod: 50, waypoints: 2 }, sides, new Date(0))
  assert.deepEqual(p.fleet, { pods: 200, nodes: 20, rps_per_pod: 50, total_rps: 10_000, waypoints: 2 })
  const [sidecar, ambient] = p.sides
  const row = (c: { component: string, per: string, instances: number, rps_per_instance: number, cpu_cores_per_1k_rps: number, memory_mb_per_instance: number, vcpu: number, memory_gib: number, in_total: boolean }): unknown[] =>
    [c.component, c.per, c.instances, c.rps_per_instance, c.cpu_cores_per_1k_rps, c.memory_mb_per_instance, c.vcpu, c.memory_gib, c.in_total]
  assert.deepEqual(sidecar?.components.map(row), [
    // 10,000 req/s ÷ 1,000 × 0.25 vCPU; 200 × 64 MB = 12.8e9 bytes = 11.920928955078125 GiB.
    ['sidecar', 'pod', 200, 50, 0.25, 64, 2.5, 11.920928955078125, true],
    ['app', 'pod', 200, 50, 0.125, 48, 1.25, 8.940696716308594, false]
  ])
  assert.deepEqual(ambient?.components.map(row), [
    // ztunnel: 20 nodes, each 10 pods × 50 req/s; 20 × 16 MB.
    ['ztunnel', 'node', 20, 500, 0.0625, 16, 0.625, 0.298023223876953125, true],
    // waypoints: the fleet's 10,000 req/s over 2; 2 × 64 MB.
    ['waypoint', 'waypoint', 2, 5000, 0.375, 64, 3.75, 0.11920928955078125, true],
    ['app', 'pod', 200, 50, 0.125, 48, 1.25, 8.940696716308594, false]
  ])
  assert.deepEqual(sidecar?.mesh_total, { vcpu: 2.5, memory_gib: 11.920928955078125 })
  assert.deepEqual(ambient?.mesh_total, { vcpu: 4.375, memory_gib: 0.417232513427734375 })
  assert.deepEqual(p.difference, { vcpu: -1.875, memory_gib: 11.503696441650390625 })
  assert.equal(mbToGib(1024 * 1.048576), 1, '1,024 × 1.048576 MB is 1 GiB')
  assert.deepEqual(p.notes, ['ambient: not projected: ztunnel_client (the caller\'s side, or no part of an ambient fleet)'])
  // Traceable: each figure names its run's file, label, window and component.
  const trace = { file: fixture('ambient'), target: 'ambient', round: null, window: { start: 1796302800, end: 1796302860, step_s: 5 }, requests_per_second: 1000, component: 'waypoint', cpu_cores_per_1k_rps: 0.375, memory_mb_max: 64, series: 1 }
  assert.deepEqual(ambient?.components[1]?.traces, [trace])
})

test('pods that do not divide over the nodes: ztunnel\'s rate is the mean per node, its CPU the fleet\'s', async () => {
  const p = project({ pods: 12, nodes: 5, rpsPerPod: 125, waypoints: 0 }, [await readSide('ambient', [fixture('ambient')])])
  const [zt] = p.sides[0]?.components ?? []
  assert.deepEqual([zt?.instances, zt?.rps_per_instance, zt?.vcpu, zt?.memory_gib], [5, 300, 0.09375, mbToGib(80)])
  assert.deepEqual(p.sides[0]?.components.map((c) => c.component), ['ztunnel', 'app'], '--waypoints 0 leaves the waypoint out')
  assert.ok(p.notes.includes('ambient: the measured waypoint is left out (--waypoints 0)'))
  assert.equal(p.difference, null, 'one side: no difference')
})

test('several runs a side: each figure is their median, and every run is traced', async () => {
  const runs = [[0.25, 64], [0.5, 80], [0.125, 32]].map(([cpu, mem], i) => variant('sidecar', `run${i}.json`, (d) => {
    d.cost.components.sidecar.cpu_cores_per_1k_rps = cpu
    d.cost.components.sidecar.memory_mb.max = mem
  }))
  const odd = await readSide('sidecar', runs)
  const s = odd.components.get('sidecar')
  assert.deepEqual([s?.cpu_cores_per_1k_rps, s?.memory_mb, s?.traces.length], [0.25, 64, 3])
  const even = await readSide('sidecar', runs.slice(0, 2))
  assert.deepEqual([even.components.get('sidecar')?.cpu_cores_per_1k_rps, even.components.get('sidecar')?.memory_mb], [0.375, 72])
  const p = project({ pods: 8, nodes: 2, rpsPerPod: 1000, waypoints: undefined }, [odd])
  assert.deepEqual([p.sides[0]?.components[0]?.vcpu, p.sides[0]?.components[0]?.memory_gib], [2, mbToGib(512)])
  assert.deepEqual(p.sides[0]?.components[0]?.traces.map((t) => t.file), runs)
})

test('refused: a component the fleet needs and no run measured, or a waypoint measured and not counted', async () => {
  const l4 = await readSide('ambient', [fixture('ambient-l4')])
  assert.throws(() => project({ pods: 10, nodes: 2, rpsPerPod: 10, waypoints: 2 }, [l4]),
    (err: Error) => err instanceof FleetInputError && /the ambient runs have no waypoint figures \(.*ambient-l4\.json: waypoint: no series matched \(no waypoint pod serves the target\)\): an ambient fleet needs them with --waypoints > 0/.test(err.message))
  assert.equal(project({ pods: 10, nodes: 2, rpsPerPod: 10, waypoints: undefined }, [l4]).sides[0]?.mesh_total.vcpu, 100 / 1000 * 0.0625, 'L4 only: no waypoint needed')
  const l7 = await readSide('ambient', [fixture('ambient')])
  assert.throws(() => project({ pods: 10, nodes: 2, rpsPerPod: 10, waypoints: undefined }, [l7]), /the ambient runs measured a waypoint: say how many the fleet runs with --waypoints K/)
  // The wrong side: an ambient run given as the sidecar side has no sidecar.
  const wrong = await readSide('sidecar', [fixture('ambient')])
  assert.throws(() => project({ pods: 10, nodes: 2, rpsPerPod: 10, waypoints: undefined }, [wrong]), /the sidecar runs have no sidecar figures \(they measured app, ztunnel, ztunnel_client, waypoint\): a sidecar fleet needs them$/)
  // A component one of two runs lacks counts as missing.
  const partial = variant('sidecar', 'partial.json', (d) => { delete d.cost.components.sidecar })
  const mixed = await readSide('sidecar', [fixture('sidecar'), partial])
  assert.equal(mixed.components.has('sidecar'), false)
  assert.match(mixed.missing.get('sidecar') ?? '', /partial\.json: not in its cost\.components/)
})

test('refused: no cost, cost not measured, and figures that are not finite numbers ≥ 0', async () => {
  const refused = async (sources: string[], re: RegExp): Promise<void> => {
    await assert.rejects(readSide('sidecar', sources), (err: Error) => err instanceof FleetInputError && re.test(err.message), re.source)
  }
  await refused([fixture('no-cost')], /no-cost\.json: cost was not measured \(no --prometheus given\): run the load with --prometheus URL/)
  await refused([variant('sidecar', 'old.json', (d) => { delete d.cost })], /old\.json: has no cost/)
  const bad: Array<[string, (d: Record<string, any>) => void, RegExp]> = [
    ['text', (d) => { d.cost.components.sidecar.cpu_cores_per_1k_rps = '0.25' }, /cost\.components\.sidecar\.cpu_cores_per_1k_rps is "0\.25", not a number ≥ 0/],
    ['negative', (d) => { d.cost.components.sidecar.cpu_cores_per_1k_rps = -0.1 }, /cpu_cores_per_1k_rps is -0\.1, not a number ≥ 0/],
    ['null', (d) => { d.cost.components.app.memory_mb.max = null }, /cost\.components\.app\.memory_mb\.max is null, not a number ≥ 0/],
    ['no memory', (d) => { delete d.cost.components.app.memory_mb }, /cost\.components\.app\.memory_mb\.max is missing/],
    ['zero rate', (d) => { d.cost.requests_per_second = 0 }, /cost\.requests_per_second is 0, not a number > 0/],
    ['window', (d) => { d.cost.window.end = d.cost.window.start }, /cost\.window ends \(1796302800\) before it starts \(1796302800\)/],
    ['no step', (d) => { delete d.cost.window.step_s }, /cost\.window\.step_s is missing/],
    ['components', (d) => { d.cost.components = [] }, /cost\.components is not an object/],
    ['component', (d) => { d.cost.components.sidecar = 7 }, /cost\.components\.sidecar is not an object/]
  ]
  for (const [name, edit, re] of bad) await refused([variant('sidecar', `${name.replace(' ', '-')}.json`, edit)], re)
  // JSON's way to a non-finite number: 1e999 parses as Infinity.
  const infinite = tmp('infinite.json')
  writeFileSync(infinite, readFileSync(fixture('sidecar'), 'utf8').replace('"cpu_cores_per_1k_rps": 0.25', '"cpu_cores_per_1k_rps": 1e999'))
  await refused([infinite], /cpu_cores_per_1k_rps is Infinity, not a number ≥ 0/)
  await refused([tmp('nothing.json')], /nothing\.json: no such file/)
  await refused([variant('sidecar', 'other.json', (d) => { d.kind = 'something-else' })], /neither a podmeter load result nor a saved comparison/)
  await refused([`${fixture('sidecar')}#sidecar`], /a load result has no targets \(#sidecar is for a saved comparison\)/)
})
