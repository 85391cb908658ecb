// `podmeter cost` as a user runs it: the projection of the fixtures (result
// files in issue 19's `cost` shape, test/fixtures/results) printed with its
// assumptions and the runs behind each figure, written as JSON with every
// figure exact; from a saved comparison too. Every refusal exits 2 with its
// reason on stderr and prints no projection.

import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import type { Projection } from '../../src/cli/fleet.js'
import { ROOT, runCli, tempFiles } from '../support/helpers.js'

const tmp = tempFiles('cost')
const fixture = (name: string): string => join(ROOT, 'test/fixtures/results', `${name}.json`)
const FLEET = ['--pods', '200', '--nodes', '20', '--rps', '50']

function variant (name: string, file: string, edit: (doc: Record<string, any>) => void): string {
  const doc = JSON.parse(readFileSync(fixture(name), 'utf8')) as Record<string, any>
  edit(doc)
  const path = tmp(file)
  writeFileSync(path, JSON.stringify(doc))
  return path
}

describe('podmeter cost', () => {
  test('sidecar vs ambient: the table, the assumptions beside it, each figure\'s run; -o writes the exact figures', async () => {
    const out = tmp('fleet.json')
    const r = await runCli(['cost', '--sidecar', fixture('sidecar'), '--ambient', fixture('ambient'), ...FLEET, '--waypoints', '2', '-o', out])
    assert.equal(r.code, 0, r.stderr)
    const lines = r.stdout.split('\n')
    assert.equal(lines[0], 'podmeter cost: 200 pods over 20 nodes at 50 req/s each (10,000 req/s in all), 2 waypoints')
    const row = (re: RegExp): void => assert.ok(lines.some((l) => re.test(l)), `${re.source}\n${r.stdout}`)
    row(/^ {2}sidecar +sidecar +pod +200 +50\.0 +0\.2500 +64\.0 +2\.500 +11\.92 +\[1\]$/)
    row(/^ {2}sidecar +mesh total +2\.500 +11\.92$/)
    row(/^ {2}ambient +ztunnel +node +20 +500\.0 +0\.0625 +16\.0 +0\.625 +0\.30 +\[3\]$/)
    row(/^ {2}ambient +waypoint +waypoint +2 +5,000\.0 +0\.3750 +64\.0 +3\.750 +0\.12 +\[4\]$/)
    row(/^ {2}ambient +mesh total +4\.375 +0\.42$/)
    row(/^ {2}sidecar − ambient +-1\.875 +\+11\.50$/)
    assert.match(r.stdout, /assumptions:\n {2}- CPU scales with req\/s/)
    assert.match(r.stdout, /- Memory per proxy is flat: .*Istio: a proxy's memory depends on its configuration/)
    assert.match(r.stdout, /ztunnel: one per node; its load is the sum over the node's pods/)
    // Traceable: the file, the label, the window, the component.
    assert.match(r.stdout, new RegExp(`\\[4\\] ambient waypoint\\n {6}${fixture('ambient').replace(/[.]/g, '\\.')} \\(label ambient\\), window 2026-12-03T13:00:00Z to 2026-12-03T13:01:00Z \\(60 s, step 5 s\\) at 1,000\\.0 req/s: waypoint 0\\.3750 vCPU per 1k req/s, 64\\.0 MB max`))
    assert.match(r.stderr, /wrote .*fleet\.json/)
    // The fingerprints: the ambient pod shows no Istio version, which is unknown, not different.
    assert.match(r.stderr, /istio_version +1\.24\.2 +\? +unknown somewhere: not compared/)

    const p = JSON.parse(readFileSync(out, 'utf8')) as Projection
    assert.equal(p.kind, 'podmeter-cost-projection')
    assert.deepEqual(p.fleet, { pods: 200, nodes: 20, rps_per_pod: 50, total_rps: 10_000, waypoints: 2 })
    assert.deepEqual(p.sides.map((s) => [s.name, s.mesh_total]), [['sidecar', { vcpu: 2.5, memory_gib: 11.920928955078125 }], ['ambient', { vcpu: 4.375, memory_gib: 0.417232513427734375 }]])
    assert.deepEqual(p.difference, { vcpu: -1.875, memory_gib: 11.503696441650390625 })
    assert.deepEqual(p.sides[1]?.components.map((c) => [c.component, c.instances, c.vcpu, c.memory_gib]), [['ztunnel', 20, 0.625, 0.298023223876953125], ['waypoint', 2, 3.75, 0.11920928955078125], ['app', 200, 1.25, 8.940696716308594]])
    assert.equal(p.assumptions.length, 5)
  })

  test('-o -: the JSON on stdout, the table on stderr; one side alone; an L4 ambient fleet', async () => {
    const r = await runCli(['cost', '--ambient', fixture('ambient-l4'), '--pods', '12', '--nodes', '5', '--rps', '125', '-o', '-'])
    assert.equal(r.code, 0, r.stderr)
    const p = JSON.parse(r.stdout) as Projection
    assert.deepEqual(p.sides[0]?.components.map((c) => [c.component, c.rps_per_instance, c.vcpu]), [['ztunnel', 300, 0.09375], ['app', 125, 0.1875]])
    assert.equal(p.difference, null)
    assert.match(r.stderr, /podmeter cost: 12 pods over 5 nodes at 125 req\/s each \(1,500 req\/s in all\)\n/)
  })

  test('from a saved comparison: its targets by name, or FILE#TARGET; every round traced', async () => {
    const cmp = tmp('compare.json')
    const c = await runCli(['compare', `sidecar=${fixture('sidecar')}`, `ambient=${fixture('ambient')}`, `ambient=${fixture('ambient')}`, '-o', cmp])
    assert.equal(c.code, 0, c.stderr)
    const byName = await runCli(['cost', '--sidecar', cmp, '--ambient', cmp, ...FLEET, '--waypoints', '2', '-o', '-'])
    assert.equal(byName.code, 0, byName.stderr)
    const p = JSON.parse(byName.stdout) as Projection
    const ztunnel = p.sides[1]?.components[0]
    assert.deepEqual(ztunnel?.traces.map((t) => [t.file, t.target, t.round]), [[cmp, 'ambient', 1], [cmp, 'ambient', 2]])
    assert.match(byName.stderr, /\[3\] ambient ztunnel: the median of 2 runs\n {6}.*compare\.json#ambient round 1, window/)
    const byHash = await runCli(['cost', '--sidecar', `${cmp}#sidecar`, ...FLEET])
    assert.equal(byHash.code, 0, byHash.stderr)
    const wrong = await runCli(['cost', '--sidecar', `${cmp}#istio`, ...FLEET])
    assert.equal(wrong.code, 2)
    assert.match(wrong.stderr, /compare\.json: no target "istio" in this comparison \(its targets: sidecar, ambient\); name one as .*compare\.json#TARGET/)
  })

  test('refused, exit 2 and why, no projection: a missing component, cost not measured, bad numbers, no cost', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--ambient', fixture('ambient-l4'), ...FLEET, '--waypoints', '2'], /the ambient runs have no waypoint figures \(.*ambient-l4\.json: waypoint: no series matched \(no waypoint pod serves the target\)\): an ambient fleet needs them with --waypoints > 0/],
      [['--ambient', fixture('ambient'), ...FLEET], /the ambient runs measured a waypoint: say how many the fleet runs with --waypoints K/],
      [['--sidecar', fixture('ambient'), ...FLEET], /the sidecar runs have no sidecar figures \(they measured app, ztunnel, ztunnel_client, waypoint\)/],
      [['--sidecar', fixture('no-cost'), ...FLEET], /no-cost\.json: cost was not measured \(no --prometheus given\): run the load with --prometheus URL/],
      [['--sidecar', variant('sidecar', 'old.json', (d) => { delete d.cost }), ...FLEET], /old\.json: has no cost/],
      [['--sidecar', variant('sidecar', 'nan.json', (d) => { d.cost.components.sidecar.cpu_cores_per_1k_rps = 'NaN' }), ...FLEET], /nan\.json: cost\.components\.sidecar\.cpu_cores_per_1k_rps is "NaN", not a number ≥ 0/],
      [['--sidecar', variant('sidecar', 'neg.json', (d) => { d.cost.components.sidecar.memory_mb.max = -64 }), ...FLEET], /neg\.json: cost\.components\.sidecar\.memory_mb\.max is -64, not a number ≥ 0/],
      [['--sidecar', variant('sidecar', 'rate.json', (d) => { d.cost.requests_per_second = 0 }), ...FLEET], /rate\.json: cost\.requests_per_second is 0, not a number > 0/],
      [['--sidecar', tmp('absent.json'), ...FLEET], /absent\.json: no such file/],
      [['--sidecar', join(ROOT, 'package.json'), ...FLEET], /package\.json: neither a podmeter load result nor a saved comparison/]
    ]
    for (const [args, message] of cases) {
      const r = await runCli(['cost', ...args])
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, message)
      assert.match(r.stderr, /^podmeter cost: /m)
      assert.equal(r.stdout, '', 'no projection')
    }
  })

  test('runs that ran differently are refused, unless declared: the payload', async () => {
    const post = variant('ambient', 'post2k.json', (d) => {
      d.fingerprint.payload = { method: 'POST', request_body_bytes: 2048 }
      d.payload = { ...d.payload, method: 'POST', request_body_bytes: 2048 }
      d.method = 'POST'
    })
    const args = ['--sidecar', fixture('sidecar'), '--ambient', post, ...FLEET, '--waypoints', '2']
    const r = await runCli(['cost', ...args])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /the results differ in payload \(method and request body size\): GET, no request body \(sidecar round 1\) and POST, 2,048-byte request bodies \(ambient round 1\);.*project from runs alike, or pass --allow-different payload/)
    assert.match(r.stderr, /payload +GET, no request body +POST, 2,048-byte request bodies +differs: refused/)
    assert.equal(r.stdout, '')
    const allowed = await runCli(['cost', ...args, '--allow-different', 'payload'])
    assert.equal(allowed.code, 0, allowed.stderr)
    assert.match(allowed.stderr, /as allowed by --allow-different payload/)
  })

  test('usage: the fleet, the numbers, the sides', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--sidecar', fixture('sidecar')], /needs --pods, --nodes, --rps: the fleet to project/],
      [['--sidecar', fixture('sidecar'), '--pods', '200', '--nodes', '20'], /needs --rps/],
      [['--sidecar', fixture('sidecar'), '--pods', '0', '--nodes', '20', '--rps', '50'], /--pods: "0" is not a whole number from 1 to 10000000/],
      [['--sidecar', fixture('sidecar'), '--pods', '2.5', '--nodes', '20', '--rps', '50'], /--pods: "2\.5" is not a whole number/],
      [['--sidecar', fixture('sidecar'), '--pods', '200', '--nodes', '20', '--rps', '0'], /--rps: "0" is not a rate/],
      [['--sidecar', fixture('sidecar'), '--pods', '200', '--nodes', '20', '--rps', 'lots'], /--rps: "lots" is not a number/],
      [['--sidecar', fixture('sidecar'), '--pods', '200', '--nodes', '20', '--rps', '-5'], /--rps: "-5" is not a number/],
      [['--sidecar', fixture('sidecar'), ...FLEET, '--waypoints', '2'], /--waypoints is for the ambient side: give --ambient too/],
      [['--sidecar', fixture('sidecar'), ...FLEET, '--waypoints', '-1', '--ambient', fixture('ambient')], /--waypoints: "-1" is not a whole number/],
      [[...FLEET], /needs runs: --sidecar SOURCE, --ambient SOURCE, or both/],
      [[fixture('sidecar'), ...FLEET], /takes its runs as --sidecar and --ambient/],
      [['--sidecar', fixture('sidecar'), ...FLEET, '--allow-different', 'mode'], /--allow-different: "mode" is not a field/],
      [['--sidecar', fixture('sidecar'), ...FLEET, '--pods', '3'], /--pods given twice/]
    ]
    for (const [args, message] of cases) {
      const r = await runCli(['cost', ...args])
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, message)
      assert.match(r.stderr, /\(podmeter cost --help lists the options\)/)
    }
    const help = await runCli(['cost', '--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /usage: podmeter cost --sidecar SOURCE --ambient SOURCE --pods N --nodes M --rps R/)
    assert.match(help.stdout, /--waypoints K/)
    assert.match((await runCli(['--help'])).stdout, /^ {2}cost {6}project the mesh's CPU and memory for a fleet, sidecar vs ambient$/m)
  })
})
