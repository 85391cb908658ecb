// What the lab found: per topology, the mode and hops its PodMeter saw
// against what the topology implies, the latency medians from the
// comparison, and the stand-in proxies' memory; as checks.json for tests
// and scripts, and report.md for people.

import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import { promisify } from 'node:util'
import type { Comparison } from '../src/cli/comparison.js'
import type { CostCheck } from './cost-report.js'
import type { L4Check } from './l4-report.js'
import { findBinary } from './processes.js'
import { pathOf, type Expectation, type HopKind, type RunningTopology, type Topology } from './topologies.js'
import { median } from '../src/shared/sample-stats.js'
import { judge } from '../src/cli/verdict.js'

const run = promisify(execFile)

export interface Seen {
  mode: string
  evidence: string[]
  /** Hops of a /stats request sent through the topology. */
  proxyHops: number
  meshHops: number
  /** Measured requests, those that crossed exactly the expected hops, and those with Envoy-made headers. */
  requests: number
  atExpectedHops: number
  envoyMade: number
}

export interface TopologyCheck {
  name: string
  path: string
  expected: Expectation
  seen: Seen
  /** Medians over the rounds of the end-to-end p50 and p99, ms. */
  p50_ms: number | null
  p99_ms: number | null
  errors: number
  proxies_rss_mib: number | null
  failures: string[]
}

export interface Checks {
  ok: boolean
  settings: Record<string, number | string>
  topologies: TopologyCheck[]
  /** The L4 part (l4.ts): the TCP echo's paths. */
  l4?: L4Check[]
  /** The cost part (cost.ts): each stand-in's vCPU and MB per 1,000 req/s, Prometheus's beside /proc's; absent with --no-cost. */
  cost?: CostCheck
}

/** The median of the finite values, null when there is none. */
function finiteMedian (values: number[]): number | null {
  const v = values.filter(Number.isFinite)
  return v.length === 0 ? null : median(v)
}

/** Compares what a topology's PodMeter saw with what the topology implies. */
export function check (t: RunningTopology, seen: Seen, comparison: Comparison, rssMib: number | null): TopologyCheck {
  const e = t.topology.expect
  const target = comparison.targets.find((x) => x.name === t.topology.name)
  const rounds = target?.rounds ?? []
  const failures: string[] = []
  if (seen.mode !== e.mode) failures.push(`mode ${seen.mode}, expected ${e.mode}`)
  if (seen.proxyHops !== e.proxyHops || seen.meshHops !== e.meshHops) {
    failures.push(`a request through it crossed ${seen.proxyHops} proxy + ${seen.meshHops} mesh hops, expected ${e.proxyHops} + ${e.meshHops}`)
  }
  if (seen.requests === 0) failures.push('no measured request reached it')
  if (seen.atExpectedHops !== seen.requests) failures.push(`${seen.requests - seen.atExpectedHops} of ${seen.requests} requests crossed other than ${e.proxyHops + e.meshHops} hops`)
  const wantEnvoy = e.envoyMade ? seen.requests : 0
  if (seen.envoyMade !== wantEnvoy) failures.push(`${seen.envoyMade} of ${seen.requests} requests had Envoy-made headers, expected ${wantEnvoy}`)
  const errors = rounds.reduce((n, r) => n + r.errors, 0)
  if (errors > 0) failures.push(`${errors} requests failed`)
  if (rounds.length === 0) failures.push('not in the comparison')
  return {
    name: t.topology.name,
    path: pathOf(t.topology.hops),
    expected: e,
    seen,
    p50_ms: finiteMedian(rounds.map((r) => r.latency_ms.e2e?.percentiles['50'] ?? Number.NaN)),
    p99_ms: finiteMedian(rounds.map((r) => r.latency_ms.e2e?.percentiles['99'] ?? Number.NaN)),
    errors,
    proxies_rss_mib: rssMib,
    failures
  }
}

/** Whether every hop of `inner` is also on `outer`'s path, and `outer` has more. */
function contains (outer: readonly HopKind[], inner: readonly HopKind[]): boolean {
  if (outer.length <= inner.length) return false
  const left = [...outer]
  for (const h of inner) {
    const i = left.indexOf(h)
    if (i < 0) return false
    left.splice(i, 1)
  }
  return true
}

/**
 * A path that contains another's hops and more cannot be faster: its
 * requests cross everything the other's do. When the comparison calls it
 * significantly faster at the end-to-end p50, the comparison is wrong (noise
 * it mistook for a finding, or an unbalanced run), and the lab fails it.
 */
export function containmentFailures (topologies: readonly Topology[], comparison: Comparison, alpha = 0.05): Map<string, string[]> {
  const p50s = (name: string): number[] => (comparison.targets.find((x) => x.name === name)?.rounds ?? [])
    .map((r) => r.latency_ms.e2e?.percentiles['50'])
    .filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
  const out = new Map<string, string[]>()
  for (const outer of topologies) {
    for (const inner of topologies) {
      if (!contains(outer.hops, inner.hops)) continue
      const v = judge(p50s(inner.name), p50s(outer.name), alpha)
      if (v.significant === true && v.diff < 0) {
        const failures = out.get(outer.name) ?? []
        failures.push(`called faster than ${inner.name} by ${(-v.diff).toFixed(3)} ms at the e2e p50, though its path contains ${inner.name}'s: the comparison is not to be trusted`)
        out.set(outer.name, failures)
      }
    }
  }
  return out
}

/** The resident memory of processes, MiB, from /proc; null where it cannot be read. */
export async function rssMib (pids: readonly number[]): Promise<number | null> {
  let kb = 0
  for (const pid of pids) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))
      if (m === null) return null
      kb += Number(m[1])
    } catch {
      return null
    }
  }
  return kb / 1024
}

async function version (bin: string, args: string[], pattern: RegExp): Promise<string> {
  try {
    const { stdout, stderr } = await run(bin, args)
    return pattern.exec(stdout + stderr)?.[1] ?? '?'
  } catch {
    return '?'
  }
}

export async function versions (): Promise<string> {
  const [nginx, haproxy, openssl] = await Promise.all([
    version(findBinary('nginx'), ['-v'], /nginx\/(\S+)/),
    version(findBinary('haproxy'), ['-v'], /version (\S+)/),
    version('openssl', ['version'], /OpenSSL (\S+)/)
  ])
  return `Node ${process.version} · nginx ${nginx} · HAProxy ${haproxy} · OpenSSL ${openssl}`
}

const ms = (v: number | null): string => (v === null ? '–' : v.toFixed(3))

/** The summary table: one row per topology. */
export function summaryTable (checks: Checks): string {
  const rows = checks.topologies.map((c) => {
    const e = c.expected
    return `| ${c.name} | ${c.path} | ${c.seen.mode} (${e.mode}) | ${c.seen.proxyHops} + ${c.seen.meshHops} (${e.proxyHops} + ${e.meshHops}) | ` +
      `${c.seen.envoyMade} of ${c.seen.requests} | ${ms(c.p50_ms)} | ${ms(c.p99_ms)} | ${c.proxies_rss_mib === null ? '–' : c.proxies_rss_mib.toFixed(1)} | ` +
      `${c.failures.length === 0 ? 'ok' : c.failures.join('; ')} |`
  })
  return [
    '| topology | path (⇒ mTLS) | mode seen (expected) | hops: proxy + mesh (expected) | requests with Envoy-made headers | p50, ms | p99, ms | proxies\' RSS, MiB | check |',
    '|---|---|---|---|---|---:|---:|---:|---|',
    ...rows
  ].join('\n')
}

export function markdown (checks: Checks, compareTable: string, command: string, about: string): string {
  const s = checks.settings
  return [
    '# PodMeter lab',
    '',
    `${new Date().toISOString()} · ${os.hostname()}, ${os.cpus().length} CPUs · ${about}`,
    '',
    `Each round: open loop at ${s.qps} req/s for ${s.seconds} s after ${s.warmup} s of warm-up, ${s.connections} connections; ` +
      `${s.rounds} rounds per topology, interleaved. PodMeter answers at once (DELAY_MS=0), so the latency is the path's. ` +
      'Everything runs on this one machine, on loopback.',
    '',
    '## What each PodMeter saw',
    '',
    summaryTable(checks),
    '',
    '- mode: from the pod facts (Downward API annotations and a /proc/net/tcp listing, stand-ins the lab writes as Istio would) and the request headers (real, made by the proxies);',
    '- hops: from the headers of a `/stats` request sent through the topology; every measured request is checked too;',
    '- p50, p99: end to end at the client, the medians of the rounds; the full comparison follows;',
    '- RSS: the nginx and HAProxy processes of the topology after the run, what these stand-ins use, not what Envoy or ztunnel would.',
    '',
    '## podmeter compare',
    '',
    compareTable.trim(),
    '',
    '## The comparison that ran',
    '',
    '```',
    command,
    '```',
    ''
  ].join('\n')
}
