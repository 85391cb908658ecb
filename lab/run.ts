// `npm run lab`: the whole experiment on one machine. Starts four
// topologies of real proxies in front of four PodMeters (topologies.ts),
// runs `podmeter compare` over them with interleaved rounds, checks that each
// PodMeter saw the mode and hops its topology implies; then the L4 part
// (l4.ts): a TCP echo direct and behind HAProxy tcp, loaded with `podmeter
// load tcp://…`; then the cost part (cost.ts): each stand-in's vCPU and MB
// per 1,000 req/s from Prometheus and prometheus-process-exporter, beside
// /proc's; and writes the report to lab/out/. Every process it starts is stopped at the end, on failure and
// on Ctrl-C.

import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { help, HelpRequested, parseArgs, Reader, UsageError, type CommandSpec } from '../src/cli/args.js'
import type { Comparison } from '../src/cli/comparison.js'
import { makeCerts } from './certs.js'
import { runCost } from './cost.js'
import { checkCost, costSection } from './cost-report.js'
import { l4LoadArgs, L4_PAYLOAD, L4_TOPOLOGIES, runL4, startL4 } from './l4.js'
import { checkL4, l4ContainmentFailures, l4Table } from './l4-report.js'
import { Processes } from './processes.js'
import { check, containmentFailures, markdown, rssMib, versions, type Checks, type Seen } from './report.js'
import { startTopology, TOPOLOGIES, type RunningTopology } from './topologies.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url))

const SPEC: CommandSpec = {
  command: 'lab',
  usage: '[options]',
  summary: 'Runs PodMeter behind real nginx and HAProxy on loopback in four topologies standing in for Istio (direct, ambient-l4, ambient-l7, sidecar), compares them with `podmeter compare`, checks the mode and hops each PodMeter saw; loads its TCP echo direct and behind HAProxy tcp with `podmeter load tcp://…` (the L4 part); measures each stand-in\'s vCPU and MB per 1,000 req/s with a real Prometheus and prometheus-process-exporter, checked against /proc (the cost part); and writes report.md, report.html, comparison.json and checks.json.',
  options: [
    { name: 'short', help: 'a quick run for tests: 3 rounds of 1 s at 200 req/s' },
    { name: 'rounds', short: 'r', value: 'N', help: 'rounds per topology, interleaved (default 5, or LAB_ROUNDS; at least 3 for a verdict)' },
    { name: 'seconds', short: 's', value: 'S', help: 'measured seconds per round (default 5, or LAB_SECONDS)' },
    { name: 'qps', value: 'R', help: 'open-loop rate of every round, req/s (default 500)' },
    { name: 'connections', short: 'c', value: 'N', help: 'connections per round (default 8)' },
    { name: 'cost-qps', value: 'R', help: 'the cost part: open-loop rate of each topology\'s window, req/s (default 1000)' },
    { name: 'cost-seconds', value: 'S', help: 'the cost part: seconds of load in each window (default 5; 3 with --short)' },
    { name: 'no-cost', help: 'skip the cost part (Prometheus and prometheus-process-exporter)' },
    { name: 'out', short: 'o', value: 'DIR', help: 'where the report goes (default lab/out)' },
    { name: 'hold', help: 'after the report, keep every topology running (open the dashboards) until Ctrl-C' },
    { name: 'quiet', short: 'q', help: 'no progress on stderr' }
  ],
  notes: ['Needs nginx, haproxy and openssl, and for the cost part prometheus and prometheus-process-exporter (Debian packages). Exits 0 when every check passed, 1 when one failed, 2 on a bad option, 130 on Ctrl-C.']
}

/** `cost`: the cost part's rate and seconds of load per window; null with --no-cost. */
interface Settings { rounds: number, seconds: number, warmup: number, qps: number, connections: number, out: string, hold: boolean, quiet: boolean, cost: { qps: number, seconds: number } | null }

function settings (argv: string[]): Settings {
  const r = new Reader(parseArgs(argv, SPEC), SPEC)
  const short = r.flag('short')
  const env = (name: string): string[] => (process.env[name] === undefined || process.env[name] === '' ? [] : [process.env[name] as string])
  // Flags win over the environment.
  const envReader = new Reader(parseArgs([...env('LAB_ROUNDS').flatMap((v) => ['--rounds', v]), ...env('LAB_SECONDS').flatMap((v) => ['--seconds', v])], SPEC), SPEC)
  const seconds = r.number('seconds', 0.1, 3600) ?? envReader.number('seconds', 0.1, 3600) ?? (short ? 1 : 5)
  return {
    rounds: r.int('rounds', 1, 100) ?? envReader.int('rounds', 1, 100) ?? (short ? 3 : 5),
    seconds,
    warmup: short ? 0.25 : Math.min(1, seconds),
    qps: r.number('qps', 1, 1_000_000) ?? (short ? 200 : 500),
    connections: r.int('connections', 1, 1000) ?? 8,
    out: resolve(r.string('out') ?? join(ROOT, 'lab/out')),
    hold: r.flag('hold'),
    quiet: r.flag('quiet'),
    cost: r.flag('no-cost') ? null : { qps: r.number('cost-qps', 1, 1_000_000) ?? 1000, seconds: r.number('cost-seconds', 0.5, 3600) ?? (short ? 3 : 5) }
  }
}

async function getJson (url: string, init?: RequestInit): Promise<Record<string, any>> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) })
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`)
  return await res.json() as Record<string, any>
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** What the topology's PodMeter saw: its own /stats, and the hops of a /stats request through the topology. */
async function seen (t: RunningTopology): Promise<Seen> {
  const direct = await getJson(`${t.podmeter}/stats`)
  const through = await getJson(`${t.url}/stats`)
  const e = t.topology.expect
  const total = e.proxyHops + e.meshHops
  return {
    mode: String(direct.service_mesh_mode),
    evidence: direct.mesh_evidence as string[],
    proxyHops: Number(through.proxy_hop_count),
    meshHops: Number(through.service_mesh_hops),
    requests: Number(direct.requests),
    atExpectedHops: Number(direct.requests_by_hop_count[total < 4 ? String(total) : '4+']),
    envoyMade: Number(direct.requests_with_envoy_headers)
  }
}

async function lab (s: Settings, procs: Processes, work: string, log: (line: string) => void, stops: Array<() => Promise<void>>): Promise<boolean> {
  const certs = await makeCerts(work)
  const [topologies, l4] = await Promise.all([
    Promise.all(TOPOLOGIES.map(async (t) => await startTopology(procs, t, certs, work, CLI))),
    startL4(procs, certs, work, CLI)
  ])
  for (const t of topologies) log(`lab: ${t.topology.name.padEnd(10)} ${t.url}  (PodMeter ${t.podmeter}, dashboard ${t.url}/dashboard)`)
  for (const f of l4.fronts) log(`lab: ${f.topology.name.padEnd(14)} tcp://${f.address}  (TCP echo of PodMeter ${l4.pod})`)
  // Every chain answers before the clock starts, and counts start from zero.
  for (const t of topologies) {
    await getJson(`${t.url}/debug/headers`)
    await getJson(`${t.podmeter}/stats/reset`, { method: 'POST' })
  }

  await mkdir(s.out, { recursive: true })
  const html = join(s.out, 'report.html')
  const json = join(s.out, 'comparison.json')
  const args = [
    'compare', ...topologies.flatMap((t) => ['--target', `${t.topology.name}=${t.url}/`]),
    '--rounds', String(s.rounds), '--duration', `${s.seconds}s`, '--warmup', `${s.warmup}s`,
    '--qps', String(s.qps), '--connections', String(s.connections),
    '--markdown', '--html', html, '--output', json, ...(s.quiet ? ['--quiet'] : [])
  ]
  const shown = (a: string): string => (a.startsWith(ROOT) ? relative(ROOT, a) : a)
  const command = `podmeter ${args.map(shown).join(' ')}`
  log(`lab: running ${command}`)
  const compare = procs.spawn('podmeter compare', process.execPath, [CLI, ...args], s.quiet ? {} : { echo: process.stderr })
  const code = await compare.exited
  if (code !== 0) throw new Error(`podmeter compare exited with ${String(code)}: ${compare.output()}`)
  const table = compare.output().replace(/^wrote .*\n/gm, '').replace(/^round .*\n/gm, '')

  // The header rule is sampled on the detector's timer (MESH_REFRESH_MS 500).
  await sleep(700)
  const comparison = JSON.parse(await readFile(json, 'utf8')) as Comparison
  const checks: Checks = {
    ok: true,
    settings: { rounds: s.rounds, seconds: s.seconds, warmup: s.warmup, qps: s.qps, connections: s.connections },
    topologies: []
  }
  for (const t of topologies) {
    const rss = t.hops.length === 0 ? null : await rssMib(t.hops.map((h) => h.process.pid))
    checks.topologies.push(check(t, await seen(t), comparison, rss))
  }
  const impossible = containmentFailures(topologies.map((t) => t.topology), comparison)
  for (const c of checks.topologies) c.failures.push(...(impossible.get(c.name) ?? []))

  // L4: the TCP echo direct and behind HAProxy tcp, the same rounds, rate and connections.
  const l4Command = `podmeter load tcp://HOST:PORT ${l4LoadArgs(s, 'http://POD').join(' ')}`
  log(`lab: L4, ${s.rounds} rounds of ${l4Command}`)
  const l4Runs = await runL4(procs, l4, s, CLI, work, log)
  checks.l4 = checkL4(L4_TOPOLOGIES, l4Runs)
  l4ContainmentFailures(L4_TOPOLOGIES, l4Runs, checks.l4)

  // Cost: each topology's stand-ins, through prometheus-process-exporter and Prometheus, against /proc.
  if (s.cost !== null) {
    checks.cost = checkCost(await runCost(procs, topologies, { ...s.cost, connections: s.connections }, CLI, work, log, stops))
  }
  checks.ok = checks.topologies.every((c) => c.failures.length === 0) && checks.l4.every((c) => c.failures.length === 0) &&
    (checks.cost?.rows ?? []).every((c) => c.failures.length === 0)
  await writeFile(join(s.out, 'checks.json'), JSON.stringify(checks, null, 2) + '\n')
  const report = markdown(checks, table, command, await versions()) + l4Section(checks.l4, s, l4Command) + (checks.cost === undefined ? '' : costSection(checks.cost))
  await writeFile(join(s.out, 'report.md'), report)
  process.stdout.write(report)
  log(`lab: wrote ${['report.md', 'report.html', 'comparison.json', 'checks.json'].map((f) => shown(join(s.out, f))).join(', ')}`)
  for (const c of [...checks.topologies, ...checks.l4]) if (c.failures.length > 0) log(`lab: ${c.name}: ${c.failures.join('; ')}`)
  for (const c of checks.cost?.rows ?? []) if (c.failures.length > 0) log(`lab: cost of ${c.topology}/${c.component}: ${c.failures.join('; ')}`)
  if (s.hold) {
    log('lab: holding every topology up; the dashboards are listed above. Ctrl-C stops everything.')
    await new Promise(() => {})
  }
  return checks.ok
}

/** The report's L4 section. */
function l4Section (l4: NonNullable<Checks['l4']>, s: Settings, command: string): string {
  return [
    '',
    '## L4: the TCP echo, direct and behind HAProxy tcp',
    '',
    `Each round: \`podmeter load tcp://…\`, open loop at ${s.qps} messages/s of ${L4_PAYLOAD} bytes for ${s.seconds} s after ${s.warmup} s of warm-up, ` +
      `${s.connections} connections; ${s.rounds} rounds per path, in a rotating order, on one PodMeter whose counters are reset before each. ` +
      'Round trip: at the client, from when each message was sent (and, in one column, from when it was due: the open loop\'s corrected figure, which adds the client\'s own timer lag); ' +
      'pod echo: the pod\'s own echo time, from its `/stats` `tcp_echo` (warm-up included). Medians of the rounds, ms. A proxy\'s cost shows in the round trip, not in the pod\'s echo time.',
    '',
    l4Table(l4),
    '',
    '```',
    command,
    '```',
    ''
  ].join('\n')
}

async function main (argv: string[]): Promise<number> {
  let s: Settings
  try {
    s = settings(argv)
  } catch (err) {
    if (err instanceof HelpRequested) { process.stdout.write(help(SPEC).replace('podmeter lab', 'npm run lab --') + '\n'); return 0 }
    if (err instanceof UsageError) { process.stderr.write(`lab: ${err.message}\n`); return 2 }
    throw err
  }
  const log = (line: string): void => { if (!s.quiet || line.includes(': running ') || line.includes('work dir')) process.stderr.write(line + '\n') }
  const procs = new Processes()
  const work = await mkdtemp(join(tmpdir(), 'podmeter-lab-'))
  log(`lab: work dir ${work}`)
  let interrupted = false
  let cleaned: Promise<void> | undefined
  // What stopAll does not cover: the cost part's Prometheus keeps its data outside the work dir.
  const stops: Array<() => Promise<void>> = []
  const cleanup = async (): Promise<void> => {
    cleaned ??= (async () => {
      await procs.stopAll()
      await Promise.allSettled(stops.map(async (stop) => await stop()))
      await rm(work, { recursive: true, force: true })
    })()
    await cleaned
  }
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      interrupted = true
      process.stderr.write(`lab: ${signal}, stopping ${procs.running.length} processes\n`)
      cleanup().then(() => process.exit(code), () => process.exit(code))
    })
  }
  try {
    return (await lab(s, procs, work, log, stops)) ? 0 : 1
  } catch (err) {
    // After Ctrl-C, what failed is only the processes being stopped.
    if (!interrupted) process.stderr.write(`lab: ${(err as Error).message}\n`)
    return 1
  } finally {
    await cleanup()
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code), (err: Error) => {
  process.stderr.write(`lab: ${err.stack ?? err.message}\n`)
  process.exit(1)
})
