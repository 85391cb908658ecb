// What the lab's L4 part found (l4.ts): per path, the client's round trip
// against the pod's own echo time over the rounds, and checks that the two
// sides counted the same messages and bytes; as checks.json's `l4` for
// tests and scripts, and a table of report.md for people.

import { judge } from '../src/cli/verdict.js'
import { median } from '../src/shared/sample-stats.js'
import { L4_PAYLOAD, l4Path, type L4Run, type L4Topology } from './l4.js'

export interface L4Check {
  name: string
  path: string
  rounds: number
  /**
   * Medians over the rounds, ms: the client's round trip from each
   * message's send, and from its due time (the open loop's corrected
   * figure, which adds the client's timer lag); the pod's echo time; the
   * round trip from the send less the pod's echo time, at p50; the connect time.
   */
  round_trip_p50_ms: number | null
  round_trip_p99_ms: number | null
  round_trip_due_p50_ms: number | null
  pod_p50_ms: number | null
  pod_p99_ms: number | null
  overhead_p50_ms: number | null
  connect_p50_ms: number | null
  /** Messages echoed (warm-up included, as the pod counts them), summed over the rounds: as the client counted them, and as the pod did; failed messages. */
  messages: number
  pod_messages: number
  errors: number
  failures: string[]
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : Number.NaN)

/** The round trip from each message's send, at percentile `p`: the open loop's uncorrected figure, the closed loop's only one. */
const sent = (r: L4Run, p: string): number => num((r.result.latency_ms.e2e_uncorrected ?? r.result.latency_ms.e2e)?.percentiles[p])

function finiteMedian (values: number[]): number | null {
  const v = values.filter(Number.isFinite)
  return v.length === 0 ? null : median(v)
}

/** Checks each path's runs: both sides counted the same, nothing failed. */
export function checkL4 (topologies: readonly L4Topology[], runs: readonly L4Run[]): L4Check[] {
  return topologies.map((t) => {
    const mine = runs.filter((r) => r.topology === t.name)
    const failures: string[] = []
    let messages = 0
    let podMessages = 0
    let errors = 0
    for (const { round, result: r } of mine) {
      const pod = r.tcp.pod
      const echoed = r.responses + r.tcp.warmup_messages.echoed
      messages += echoed
      errors += r.errors
      if (r.errors > 0) failures.push(`round ${round}: ${r.errors} messages failed (${JSON.stringify(r.tcp.error_kinds)})`)
      if (pod === null) { failures.push(`round ${round}: the pod's /stats could not be read`); continue }
      podMessages += num(pod.messages)
      if (pod.messages !== echoed) failures.push(`round ${round}: the pod echoed ${String(pod.messages)} messages, the client got ${echoed} back`)
      if (pod.bytes_in !== pod.bytes_out || pod.bytes_out !== echoed * L4_PAYLOAD) failures.push(`round ${round}: the pod read ${String(pod.bytes_in)} bytes and echoed ${String(pod.bytes_out)}, for ${echoed} messages of ${L4_PAYLOAD}`)
      if (pod.connections_failed !== 0) failures.push(`round ${round}: ${String(pod.connections_failed)} connections to the pod failed`)
    }
    if (mine.length === 0) failures.push('never ran')
    const med = (f: (r: L4Run) => number): number | null => finiteMedian(mine.map(f))
    return {
      name: t.name,
      path: l4Path(t.hops),
      rounds: mine.length,
      round_trip_p50_ms: med((r) => sent(r, '50')),
      round_trip_p99_ms: med((r) => sent(r, '99')),
      round_trip_due_p50_ms: med((r) => num(r.result.latency_ms.e2e?.percentiles['50'])),
      pod_p50_ms: med((r) => num(r.result.tcp.pod?.p50_latency_ms)),
      pod_p99_ms: med((r) => num(r.result.tcp.pod?.p99_latency_ms)),
      overhead_p50_ms: med((r) => sent(r, '50') - num(r.result.tcp.pod?.p50_latency_ms)),
      connect_p50_ms: med((r) => num(r.result.tcp.connect_ms.percentiles['50'])),
      messages,
      pod_messages: podMessages,
      errors,
      failures
    }
  })
}

/**
 * As for HTTP (report.ts, containmentFailures): a path whose hops contain
 * another's and more cannot be faster; when the rank-sum test calls its
 * round trip p50 significantly lower, the runs are not to be trusted.
 */
export function l4ContainmentFailures (topologies: readonly L4Topology[], runs: readonly L4Run[], checks: L4Check[], alpha = 0.05): void {
  const p50s = (name: string): number[] => runs.filter((r) => r.topology === name).map((r) => sent(r, '50')).filter(Number.isFinite)
  for (const outer of topologies) {
    for (const inner of topologies) {
      if (outer.hops.length <= inner.hops.length || !inner.hops.every((h) => outer.hops.includes(h))) continue
      const v = judge(p50s(inner.name), p50s(outer.name), alpha)
      if (v.significant === true && v.diff < 0) {
        checks.find((c) => c.name === outer.name)?.failures.push(`called faster than ${inner.name} by ${(-v.diff).toFixed(3)} ms at the round trip p50 (from the send), though its path contains ${inner.name}'s`)
      }
    }
  }
}

const ms = (v: number | null): string => (v === null ? '–' : v.toFixed(3))
const delta = (v: number | null, base: number | null): string => (v === null || base === null ? '–' : `${v - base >= 0 ? '+' : ''}${(v - base).toFixed(3)}`)

/** The overhead table: one row per path, the differences against the first (direct). */
export function l4Table (checks: readonly L4Check[]): string {
  const base = checks[0]
  const rows = checks.map((c) =>
    `| ${c.name} | ${c.path} | ${ms(c.round_trip_p50_ms)} | ${ms(c.round_trip_p99_ms)} | ${ms(c.round_trip_due_p50_ms)} | ${ms(c.pod_p50_ms)} | ${ms(c.pod_p99_ms)} | ${ms(c.overhead_p50_ms)} | ` +
    `${delta(c.round_trip_p50_ms, base?.round_trip_p50_ms ?? null)} | ${delta(c.pod_p50_ms, base?.pod_p50_ms ?? null)} | ${ms(c.connect_p50_ms)} | ` +
    `${c.messages} / ${c.pod_messages} | ${c.failures.length === 0 ? 'ok' : c.failures.join('; ')} |`)
  return [
    `| path | (⇒ mTLS) | round trip p50 | round trip p99 | round trip p50 from due | pod echo p50 | pod echo p99 | round trip − pod echo, p50 | round trip p50 − ${base?.name ?? 'direct'} | pod echo p50 − ${base?.name ?? 'direct'} | connect p50 | messages: client / pod | check |`,
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows
  ].join('\n')
}
