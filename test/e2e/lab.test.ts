// `npm run lab` end to end in its short mode: real nginx and HAProxy with
// mTLS in front of four PodMeters, `podmeter compare` over them, the L4 part
// (a TCP echo direct and behind HAProxy tcp, `podmeter load tcp://…`), the
// cost part (a real Prometheus and prometheus-process-exporter, checked
// against /proc), the checks and the report; and Ctrl-C stops every process
// it started.

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Comparison } from '../../src/cli/comparison.js'
import { MIN_CPU_SECONDS } from '../../lab/cost-report.js'
import type { Checks } from '../../lab/report.js'
import { ROOT, waitFor } from '../support/helpers.js'

const LAB = fileURLToPath(new URL('../../lab/run.js', import.meta.url))
const NAMES = ['direct', 'ambient-l4', 'ambient-l7', 'sidecar']
const L4_NAMES = ['tcp-direct', 'tcp-haproxy', 'tcp-ambient-l4']
const out = mkdtempSync(join(tmpdir(), 'podmeter-lab-test-'))
after(() => rmSync(out, { recursive: true, force: true }))

function startLab (args: string[]): { output: () => string, exit: Promise<number | null>, pid: number, kill: (signal: NodeJS.Signals) => void } {
  const child = spawn(process.execPath, [LAB, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let text = ''
  child.stdout.on('data', (c: Buffer) => { text += c.toString() })
  child.stderr.on('data', (c: Buffer) => { text += c.toString() })
  return { output: () => text, exit: once(child, 'exit').then(([code]) => code as number | null), pid: child.pid as number, kill: (s) => child.kill(s) }
}

/** Live (not zombie) processes, with their parent and command line. */
function processes (): Array<{ pid: number, ppid: number, cmdline: string }> {
  const list = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (fields[0] === 'Z') continue
      list.push({ pid: Number(name), ppid: Number(fields[1]), cmdline: readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ') })
    } catch {}
  }
  return list
}

function descendants (root: number): number[] {
  const all = processes()
  const found: number[] = []
  let frontier = [root]
  while (frontier.length > 0) {
    const next = all.filter((p) => frontier.includes(p.ppid)).map((p) => p.pid)
    found.push(...next)
    frontier = next
  }
  return found
}

const alive = (pid: number): boolean => processes().some((p) => p.pid === pid)

/** One short lab for the tests that read its output. */
let shortLab: Promise<{ code: number | null, output: string }> | undefined
async function runShortLab (): Promise<{ code: number | null, output: string }> {
  shortLab ??= (async () => {
    const lab = startLab(['--short', '--quiet', '--out', out])
    const code = await lab.exit
    return { code, output: lab.output() }
  })()
  return await shortLab
}

test('the short lab: four topologies, each PodMeter sees its mode and hops; three L4 paths, each counted alike on both sides; the report has them all', async () => {
  const lab = await runShortLab()
  assert.equal(lab.code, 0, lab.output)
  const work = /work dir (\S+)/.exec(lab.output)?.[1] as string
  assert.ok(!existsSync(work), 'the work dir is removed')
  assert.deepEqual(processes().filter((p) => p.cmdline.includes(work) || p.cmdline.includes(out) || p.cmdline.includes('podmeter-prom-')), [], 'no process left behind')

  const checks = JSON.parse(readFileSync(join(out, 'checks.json'), 'utf8')) as Checks
  assert.deepEqual(checks.topologies.map((t) => t.name), NAMES)
  for (const t of checks.topologies) {
    assert.deepEqual(t.failures, [], t.name)
    assert.equal(t.seen.mode, t.expected.mode, t.name)
    assert.deepEqual([t.seen.proxyHops, t.seen.meshHops], [t.expected.proxyHops, t.expected.meshHops], t.name)
    assert.ok(t.seen.requests > 0 && t.seen.atExpectedHops === t.seen.requests, t.name)
    assert.equal(t.errors, 0, t.name)
  }
  assert.deepEqual(checks.topologies.map((t) => [t.name, t.seen.mode, t.seen.meshHops, t.seen.envoyMade > 0]), [
    ['direct', 'none', 0, false], ['ambient-l4', 'ambient-l4', 0, false], ['ambient-l7', 'ambient-l7', 1, true], ['sidecar', 'sidecar', 2, true]
  ])
  assert.deepEqual(checks.l4?.map((c) => c.name), L4_NAMES)
  for (const c of checks.l4 ?? []) {
    assert.deepEqual(c.failures, [], c.name)
    assert.equal(c.rounds, 3, c.name)
    assert.equal(c.errors, 0, c.name)
    assert.ok(c.messages > 0 && c.pod_messages === c.messages, `${c.name}: the pod echoed what the client got back (${c.pod_messages} / ${c.messages})`)
    assert.ok(c.round_trip_p50_ms !== null && c.pod_p50_ms !== null, c.name)
  }
  assert.equal(checks.ok, true)

  // Ordering only where it is robust: no hop at all against two L7 proxies with mTLS.
  const p50 = Object.fromEntries(checks.topologies.map((t) => [t.name, t.p50_ms as number]))
  assert.ok((p50.direct as number) <= (p50.sidecar as number), JSON.stringify(p50))
  const comparison = JSON.parse(readFileSync(join(out, 'comparison.json'), 'utf8')) as Comparison
  assert.deepEqual(comparison.targets.map((t) => [t.name, t.rounds.length]), NAMES.map((n) => [n, 3]))

  const md = readFileSync(join(out, 'report.md'), 'utf8')
  for (const name of NAMES) assert.match(md, new RegExp(`^\\| ${name} \\| client `, 'm'))
  assert.match(md, /^## L4: the TCP echo, direct and behind HAProxy tcp$/m)
  for (const name of L4_NAMES) assert.match(md, new RegExp(`^\\| ${name} \\| client .* TCP echo \\| [\\d.]+ \\|`, 'm'))
  assert.match(md, /^podmeter load tcp:\/\/HOST:PORT .*--rate 200/m)
  assert.match(md, /\| end to end p50 \|/)
  const html = readFileSync(join(out, 'report.html'), 'utf8')
  for (const name of NAMES) assert.ok(html.includes(name), `report.html names ${name}`)
})

test('the short lab\'s cost: each stand-in\'s vCPU from Prometheus (process-exporter) is within 10 % of its /proc CPU time over the same window', async () => {
  const lab = await runShortLab()
  const checks = JSON.parse(readFileSync(join(out, 'checks.json'), 'utf8')) as Checks
  const cost = checks.cost
  assert.ok(cost !== undefined, lab.output)
  assert.match(cost.exporter.version, /^\d+\.\d+/)
  assert.deepEqual(cost.rows.map((r) => `${r.topology}/${r.component}`), [
    'direct/app',
    'ambient-l4/app', 'ambient-l4/ztunnel_client', 'ambient-l4/ztunnel',
    'ambient-l7/app', 'ambient-l7/ztunnel_client', 'ambient-l7/waypoint', 'ambient-l7/ztunnel',
    'sidecar/app', 'sidecar/sidecar_client', 'sidecar/sidecar'
  ])
  for (const w of cost.windows) {
    const { start, end } = w.cost.window
    // Open loop: never more than the timetable's requests; the window holds all of them.
    assert.ok(w.requests > 0 && w.requests <= cost.settings.qps * cost.settings.seconds, `${w.topology}: ${w.requests} requests`)
    assert.ok(end - start >= cost.settings.seconds, `${w.topology}: the window ${start}..${end} holds the whole load`)
    assert.equal(Math.round(w.cost.requests_per_second * (end - start)), w.requests, w.topology)
    assert.deepEqual(w.cost.missing, [], w.topology)
    for (const [name, c] of Object.entries(w.cost.components)) {
      assert.ok(c.queries.cpu.includes('namedprocess_namegroup_cpu_seconds_total') && c.queries.cpu.includes(end.toFixed(3)), c.queries.cpu)
      assert.ok(c.queries.memory.includes('memtype="resident"'), c.queries.memory)
      assert.equal(c.cpu_cores_per_1k_rps, c.cpu_cores.mean / w.cost.requests_per_second * 1000, `${w.topology}/${name}`)
      assert.equal(c.series, 1, `${w.topology}/${name}: one group per stand-in`)
    }
  }
  for (const r of cost.rows) {
    const what = `${r.topology}/${r.component}: Prometheus ${r.prometheus?.cpu_cores} vCPU, /proc ${r.proc.cpu_cores} (${r.proc.cpu_seconds} CPU s)`
    assert.ok(r.prometheus !== null, what)
    // Enough CPU that the counters' hundredths of a second are far below 10 %.
    assert.ok(r.proc.cpu_seconds >= MIN_CPU_SECONDS, what)
    assert.ok(Math.abs(r.prometheus.cpu_cores / r.proc.cpu_cores - 1) <= 0.10, what)
    assert.ok(r.prometheus.memory_mb > 1 && r.prometheus.memory_mb_per_1k_rps > 0, what)
    assert.deepEqual(r.failures, [], what)
  }
  const md = readFileSync(join(out, 'report.md'), 'utf8')
  assert.match(md, /^## Cost: vCPU and MB per 1,000 req\/s of each stand-in$/m)
  for (const r of cost.rows) assert.match(md, new RegExp(`^\\| ${r.topology} \\| ${r.component} \\| [^|]+ \\| [\\d.]+ \\| [\\d.]+ \\| [\\d.]+ \\|`, 'm'))
})

test('Ctrl-C (SIGINT) stops every process the lab started', async () => {
  const lab = startLab(['--short', '--seconds', '10', '--out', join(out, 'interrupted')])
  await waitFor('the comparison to start', () => /lab: running podmeter compare/.test(lab.output()), 30_000)
  // The compare child is spawned right after the line.
  await waitFor('the compare process', () => processes().some((p) => p.ppid === lab.pid && p.cmdline.includes(' compare ')), 5000)
  const children = descendants(lab.pid)
  const work = /work dir (\S+)/.exec(lab.output())?.[1] as string
  // Four PodMeters, seven proxies, one compare; and the L4 part's PodMeter and three HAProxies.
  assert.equal(children.length, 16, processes().filter((p) => children.includes(p.pid)).map((p) => p.cmdline).join('\n'))
  lab.kill('SIGINT')
  assert.equal(await lab.exit, 130, lab.output())
  assert.match(lab.output(), /lab: SIGINT, stopping 16 processes/)
  assert.deepEqual(children.filter(alive), [])
  assert.ok(!existsSync(work), 'the work dir is removed')
})
