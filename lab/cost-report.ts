// The cost part's checks and table: per stand-in, what Prometheus (through
// prometheus-process-exporter) says it burned over its window, per 1,000
// req/s, beside what its own /proc says over the same window.

import type { CostRun, CostWindow } from './cost.js'

/** Prometheus's CPU figure may differ from /proc's by this much: both read utime + stime, at the same scrape instants. */
export const CPU_TOLERANCE = 0.10
/**
 * Less CPU than this in a window (10 ticks of the counters, which count in
 * hundredths of a second) is too little to compare to within 10 %: the load
 * is too small.
 */
export const MIN_CPU_SECONDS = 0.1
/** Prometheus's max resident set over a window may fall this far short of what /proc read at the window's ends. */
const MEMORY_TOLERANCE = 0.05

export interface CostRow {
  topology: string
  component: string
  stands_in: string
  requests_per_second: number
  prometheus: { cpu_cores: number, cpu_cores_per_1k_rps: number, memory_mb: number, memory_mb_per_1k_rps: number } | null
  proc: { cpu_seconds: number, cpu_cores: number, cpu_cores_per_1k_rps: number, memory_mb_start: number, memory_mb_end: number }
  /** Prometheus's vCPU ÷ /proc's, over the same window; null when Prometheus had nothing. */
  cpu_ratio: number | null
  failures: string[]
}

export interface CostCheck {
  exporter: CostRun['exporter']
  settings: CostRun['settings']
  rows: CostRow[]
  /** Each window in full: its `cost` object, as a `podmeter load --prometheus` result carries it, and /proc's figures. */
  windows: CostWindow[]
}

export function checkCost (run: CostRun): CostCheck {
  const rows: CostRow[] = []
  for (const w of run.windows) {
    for (const [component, p] of Object.entries(w.proc)) {
      const c = w.cost.components[component]
      const failures: string[] = []
      const missing = w.cost.missing.filter((m) => m.startsWith(`${component}:`))
      failures.push(...missing)
      if (p.cpu_seconds < MIN_CPU_SECONDS) failures.push(`${p.cpu_seconds.toFixed(3)} CPU s in the window, too little to compare (at least ${MIN_CPU_SECONDS}): load more`)
      const ratio = c === undefined || p.cpu_cores === 0 ? null : c.cpu_cores.mean / p.cpu_cores
      if (ratio !== null && Math.abs(ratio - 1) > CPU_TOLERANCE) {
        failures.push(`Prometheus's ${c?.cpu_cores.mean.toFixed(4)} vCPU is ${((ratio - 1) * 100).toFixed(1)} % off /proc's ${p.cpu_cores.toFixed(4)} (at most ±${CPU_TOLERANCE * 100} %)`)
      }
      const procMax = Math.max(p.memory_mb.start, p.memory_mb.end)
      if (c !== undefined && c.memory_mb.max < procMax * (1 - MEMORY_TOLERANCE)) {
        failures.push(`Prometheus's max resident ${c.memory_mb.max.toFixed(1)} MB is below what /proc read at the window's ends (${procMax.toFixed(1)} MB)`)
      }
      rows.push({
        topology: w.topology,
        component,
        stands_in: w.stands_in[component] ?? component,
        requests_per_second: w.cost.requests_per_second,
        prometheus: c === undefined
          ? null
          : { cpu_cores: c.cpu_cores.mean, cpu_cores_per_1k_rps: c.cpu_cores_per_1k_rps, memory_mb: c.memory_mb.max, memory_mb_per_1k_rps: c.memory_mb_per_1k_rps },
        proc: { cpu_seconds: p.cpu_seconds, cpu_cores: p.cpu_cores, cpu_cores_per_1k_rps: p.cpu_cores_per_1k_rps, memory_mb_start: p.memory_mb.start, memory_mb_end: p.memory_mb.end },
        cpu_ratio: ratio,
        failures
      })
    }
  }
  return { exporter: run.exporter, settings: run.settings, rows, windows: run.windows }
}

const f = (v: number | undefined, digits: number): string => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits))

export function costTable (c: CostCheck): string {
  return [
    '| topology | component | stands in for | req/s | vCPU | vCPU per 1k req/s | MB (max resident) | MB per 1k req/s | /proc CPU s | /proc vCPU | /proc vCPU per 1k req/s | /proc MB (start → end) | vCPU, Prometheus ÷ /proc | check |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...c.rows.map((r) => `| ${r.topology} | ${r.component} | ${r.stands_in} | ${f(r.requests_per_second, 1)} | ` +
      `${f(r.prometheus?.cpu_cores, 4)} | ${f(r.prometheus?.cpu_cores_per_1k_rps, 4)} | ${f(r.prometheus?.memory_mb, 1)} | ${f(r.prometheus?.memory_mb_per_1k_rps, 1)} | ` +
      `${f(r.proc.cpu_seconds, 2)} | ${f(r.proc.cpu_cores, 4)} | ${f(r.proc.cpu_cores_per_1k_rps, 4)} | ${f(r.proc.memory_mb_start, 1)} → ${f(r.proc.memory_mb_end, 1)} | ` +
      `${r.cpu_ratio === null ? '–' : r.cpu_ratio.toFixed(3)} | ${r.failures.length === 0 ? 'ok' : r.failures.join('; ')} |`)
  ].join('\n')
}

/** The report's cost section. */
export function costSection (c: CostCheck): string {
  const s = c.settings
  const w = c.windows[0]
  return [
    '',
    '## Cost: vCPU and MB per 1,000 req/s of each stand-in',
    '',
    `Each topology in turn: \`${w?.load_command ?? 'podmeter load'}\` (open loop at ${s.qps} req/s for ${s.seconds} s, ${s.connections} connections). ` +
      `Debian's prometheus-process-exporter ${c.exporter.version} measures each stand-in as its own group; a real Prometheus scrapes it every second. ` +
      'A window runs from the scrape before the load to the scrape after it, idle at both ends; req/s is what the topology\'s PodMeter served over it. ' +
      'vCPU: `namedprocess_namegroup_cpu_seconds_total` (utime + stime) at the closing scrape minus at the opening one, over their distance; ' +
      'MB: the max of `namedprocess_namegroup_memory_bytes{memtype="resident"}` over the window (MB = 10^6 bytes). ' +
      '/proc: each process\'s own utime + stime (and its children\'s, had it any) from /proc/<pid>/stat, read every 100 ms and taken at the same two scrape instants, and its rss at them. ' +
      `The check: the two CPU figures within ±${CPU_TOLERANCE * 100} %. These are nginx and HAProxy on loopback, not Envoy or ztunnel (docs/lab.md says what the lab can and cannot tell).`,
    '',
    costTable(c),
    ''
  ].join('\n')
}
