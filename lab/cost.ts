// The lab's cost part: what each stand-in burns per 1,000 req/s, measured
// as in a cluster (a real Prometheus scraping Debian's
// prometheus-process-exporter every second) and checked against each
// process's own /proc over the same window.
//
// One window per topology, one topology loaded at a time with `podmeter
// load --qps`. A window runs from a scrape before the load starts to a
// scrape after it has ended, so it begins and ends on idle stand-ins: the
// CPU seconds in it are the load's whatever the machine is doing, and /proc,
// read every 100 ms (proc-sampler.ts), has the same figure at the two scrape
// instants. The requests are PodMeter's own count over the window; each
// stand-in proxies every one of them.

import { queryInstant, queryRange, redactedUrl, type InstantSeries } from '../src/cli/cost/prometheus-api.js'
import { PROCESS_EXPORTER_QUERIES as Q, render, type QueryWindow } from './cost-queries.js'
import { startExporter, type Group } from './exporter.js'
import type { Processes } from './processes.js'
import { processTree, ProcSampler } from './proc-sampler.js'
import { startPrometheus } from './prometheus.js'
import { HOP_LABEL, type HopKind, type RunningTopology } from './topologies.js'

/** A topology's parts under the names of the result's `cost.components`. */
const COMPONENT: Record<HopKind, string> = {
  'ztunnel-client': 'ztunnel_client',
  'ztunnel-server': 'ztunnel',
  waypoint: 'waypoint',
  'sidecar-client': 'sidecar_client',
  'sidecar-server': 'sidecar',
  'l4-proxy': 'l4_proxy'
}

export interface CostSettings { qps: number, seconds: number, connections: number }

/** One component of `cost.components`, in the shape every result has (the lead's i19 shape). */
export interface CostComponent {
  cpu_cores: { mean: number, min: number, max: number, samples: number[] }
  memory_mb: { max: number, mean: number }
  cpu_cores_per_1k_rps: number
  memory_mb_per_1k_rps: number
  series: number
  queries: { cpu: string, memory: string }
}

export interface Cost {
  measured: true
  prometheus: string
  window: { start: number, end: number, step_s: number }
  requests_per_second: number
  components: Record<string, CostComponent>
  missing: string[]
}

/** /proc's figures for one component over the same window. */
export interface ProcCost {
  /** The process and its descendants. */
  pids: number[]
  cpu_seconds: number
  cpu_cores: number
  cpu_cores_per_1k_rps: number
  /** Resident set at the window's start and end, MB (10^6 bytes). */
  memory_mb: { start: number, end: number }
  /** The farthest /proc read from a scrape instant it was interpolated at, s. */
  read_gap_s: number
}

export interface CostWindow {
  topology: string
  /** What plays each component: `sidecar (nginx)`. */
  stands_in: Record<string, string>
  requests: number
  load_command: string
  cost: Cost
  proc: Record<string, ProcCost>
}

export interface CostRun {
  exporter: { version: string, url: string }
  settings: CostSettings
  windows: CostWindow[]
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

async function requestsServed (podmeter: string): Promise<number> {
  const res = await fetch(`${podmeter}/stats`, { signal: AbortSignal.timeout(5000) })
  return Number((await res.json() as { requests: number }).requests)
}

/** The timestamp of the first scrape of `groups` after unix time `after`, once Prometheus has it. */
async function scrapeAfter (base: URL, groups: string, after: number, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const now = Date.now() / 1000
    const got = await queryInstant(base, `max(timestamp(namedprocess_namegroup_num_procs{groupname=~"${groups}"}))`, now)
    const t = got[0]?.value[1]
    if (t !== undefined && t > after) return t
    if (Date.now() > deadline) throw new Error(`Prometheus had no scrape of ${groups} after ${after.toFixed(3)} within ${timeoutMs / 1000} s`)
    await sleep(50)
  }
}

/** Each topology's measured parts: its PodMeter (app) and each hop. */
function partsOf (t: RunningTopology): Array<{ component: string, standsIn: string, pid: number }> {
  return [
    { component: 'app', standsIn: 'the app (PodMeter)', pid: t.processes[0]?.pid ?? -1 },
    ...t.hops.map((h) => ({ component: COMPONENT[h.kind], standsIn: HOP_LABEL[h.kind], pid: h.process.pid }))
  ]
}

const byGroup = (series: InstantSeries[]): Map<string, number> => new Map(series.map((s) => [s.metric.groupname ?? '', s.value[1]]))

/**
 * Starts the exporter on every topology's parts and a Prometheus scraping
 * it every second, then measures one window per topology. `stops` gets
 * Prometheus's stop (its data dir), for the lab's cleanup on Ctrl-C.
 */
export async function runCost (procs: Processes, topologies: readonly RunningTopology[], s: CostSettings, cli: string, work: string,
  log: (line: string) => void, stops: Array<() => Promise<void>>): Promise<CostRun> {
  const parts = topologies.map((t) => ({ t, parts: partsOf(t) }))
  const groups: Group[] = parts.flatMap(({ t, parts }) => parts.map((p) => ({ name: `${t.topology.name}/${p.component}`, pid: p.pid })))
  const exporter = await startExporter(procs, groups, work)
  const prom = await startPrometheus([{ url: exporter.url, labels: {}, job: 'process-exporter' }], { track: (child) => procs.adopt('prometheus', child, 'prometheus') })
  stops.push(prom.stop)
  try {
    const base = new URL(prom.api)
    log(`lab: cost, prometheus-process-exporter ${exporter.version} at ${exporter.url}, scraped every 1 s by Prometheus at ${prom.api}`)
    await everyGroupSeen(base, groups)
    const windows: CostWindow[] = []
    for (const { t, parts: ps } of parts) windows.push(await measure(procs, base, t, ps, s, cli, log))
    return { exporter: { version: exporter.version, url: exporter.url }, settings: s, windows }
  } finally {
    await prom.stop()
    exporter.process.child.kill('SIGTERM')
    await exporter.process.exited
  }
}

/** Waits until Prometheus has scraped every group twice, each with as many processes as its /proc tree. */
async function everyGroupSeen (base: URL, groups: readonly Group[]): Promise<void> {
  const deadline = Date.now() + 20_000
  const trees = new Map(groups.map((g) => [g.name, processTree(g.pid).length]))
  for (;;) {
    const now = Date.now() / 1000
    const procs = byGroup(await queryInstant(base, 'namedprocess_namegroup_num_procs', now).catch(() => []))
    const scrapes = byGroup(await queryInstant(base, 'count_over_time(namedprocess_namegroup_num_procs[1m])', now).catch(() => []))
    const wrong = groups.filter((g) => procs.get(g.name) !== trees.get(g.name) || (scrapes.get(g.name) ?? 0) < 2)
    if (wrong.length === 0) return
    if (Date.now() > deadline) {
      throw new Error(`the exporter's groups do not match the stand-ins: ${wrong.map((g) => `${g.name} has ${procs.get(g.name) ?? 'no'} processes in Prometheus, ${String(trees.get(g.name))} in /proc`).join('; ')}`)
    }
    await sleep(200)
  }
}

async function measure (procs: Processes, base: URL, t: RunningTopology, parts: ReturnType<typeof partsOf>, s: CostSettings, cli: string,
  log: (line: string) => void): Promise<CostWindow> {
  const name = t.topology.name
  const regex = `${name}/.*`
  const trees = new Map(parts.map((p) => [p.component, processTree(p.pid)]))
  const sampler = new ProcSampler(trees)
  const args = ['load', `${t.url}/`, '--qps', String(s.qps), '-c', String(s.connections), '-d', `${s.seconds}s`, '--warmup', '0', '--no-stats', '--quiet']
  let start: number
  let end: number
  let requests: number
  try {
    // The window opens on a scrape after /proc's first read, with the stand-ins idle since the last part of the lab.
    start = await scrapeAfter(base, regex, sampler.last)
    const before = await requestsServed(t.podmeter)
    log(`lab: cost window of ${name}: podmeter ${args.join(' ')}`)
    const load = procs.spawn(`cost load ${name}`, process.execPath, [cli, ...args])
    const code = await load.exited
    if (code !== 0) throw new Error(`the cost load of ${name} exited with ${String(code)}: ${load.output()}`)
    requests = await requestsServed(t.podmeter) - before
    // The load's connections are closed; the proxies' last work (FIN, close) is done well within this.
    await sleep(250)
    end = await scrapeAfter(base, regex, Date.now() / 1000)
    while (sampler.last <= end) await sleep(20)
  } finally {
    sampler.stop()
  }
  const w: QueryWindow = { groups: regex, start, end }
  const seconds = end - start
  const rps = requests / seconds
  const queries = { cpu: render(Q.cpu, w), cpu_steps: render(Q.cpu_steps, w), memory: render(Q.memory, w), memory_mean: render(Q.memory_mean, w) }
  const [cpu, steps, memory, memoryMean] = await Promise.all([
    queryInstant(base, queries.cpu, end),
    queryRange(base, queries.cpu_steps, start, end, 1),
    queryInstant(base, queries.memory, end),
    queryInstant(base, queries.memory_mean, end)
  ])
  const cpuBy = byGroup(cpu)
  const memBy = byGroup(memory)
  const memMeanBy = byGroup(memoryMean)
  const cost: Cost = { measured: true, prometheus: redactedUrl(base.href), window: { start, end, step_s: 1 }, requests_per_second: rps, components: {}, missing: [] }
  const proc: Record<string, ProcCost> = {}
  for (const p of parts) {
    const group = `${name}/${p.component}`
    const mean = cpuBy.get(group)
    const maxBytes = memBy.get(group)
    if (mean === undefined || maxBytes === undefined) {
      cost.missing.push(`${p.component}: no ${mean === undefined ? 'CPU' : 'memory'} series for groupname="${group}"`)
    } else {
      const samples = (steps.find((x) => x.metric.groupname === group)?.values ?? []).map(([, v]) => v).filter(Number.isFinite)
      cost.components[p.component] = {
        cpu_cores: { mean, min: Math.min(...samples), max: Math.max(...samples), samples },
        memory_mb: { max: maxBytes / 1e6, mean: (memMeanBy.get(group) ?? Number.NaN) / 1e6 },
        cpu_cores_per_1k_rps: mean / rps * 1000,
        memory_mb_per_1k_rps: maxBytes / 1e6 / rps * 1000,
        series: cpu.filter((x) => x.metric.groupname === group).length,
        queries: { cpu: queries.cpu, memory: queries.memory }
      }
    }
    const a = sampler.at(p.component, start)
    const b = sampler.at(p.component, end)
    if (a === undefined || b === undefined) throw new Error(`${group}: /proc was not read on both sides of the scrapes at ${start} and ${end}`)
    const cpuSeconds = b.cpuSeconds - a.cpuSeconds
    proc[p.component] = {
      pids: trees.get(p.component) ?? [],
      cpu_seconds: cpuSeconds,
      cpu_cores: cpuSeconds / seconds,
      cpu_cores_per_1k_rps: cpuSeconds / seconds / rps * 1000,
      memory_mb: { start: a.rssBytes / 1e6, end: b.rssBytes / 1e6 },
      read_gap_s: Math.max(a.gap_s, b.gap_s)
    }
  }
  return {
    topology: name,
    stands_in: Object.fromEntries(parts.map((p) => [p.component, p.standsIn])),
    requests,
    load_command: `podmeter ${args.join(' ').replace(t.url, 'http://TOPOLOGY')}`,
    cost,
    proc
  }
}
