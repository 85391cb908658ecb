// The lab's L4 part: PodMeter's TCP echo (TCP_ECHO_PORT) direct, behind one
// HAProxy in `mode tcp`, and behind the ambient-l4 pair of ztunnel stand-ins
// (HAProxy tcp ⇒ mTLS ⇒ HAProxy tcp), driven by `podmeter load tcp://…`:
//
//   tcp-direct      client → TCP echo
//   tcp-haproxy     client → HAProxy tcp → TCP echo
//   tcp-ambient-l4  client → ztunnel (HAProxy tcp) ⇒ ztunnel (HAProxy tcp) → TCP echo
//
// No HTTP on top: a proxy's cost shows in the client's round trip and not in
// the pod's own echo time, which the client reads from the pod's /stats after
// each run. One PodMeter serves all three, its counters reset before each
// run; rounds rotate the order of the paths, as `podmeter compare` does.

import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Certs } from './certs.js'
import type { Managed, Processes } from './processes.js'
import { pathOf, startHop, type Hop, type HopKind } from './topologies.js'
import type { TcpLoadResult } from '../src/cli/tcp-result.js'

export type L4Name = 'tcp-direct' | 'tcp-haproxy' | 'tcp-ambient-l4'

export interface L4Topology {
  name: L4Name
  /** Front to back. */
  hops: HopKind[]
}

export const L4_TOPOLOGIES: L4Topology[] = [
  { name: 'tcp-direct', hops: [] },
  { name: 'tcp-haproxy', hops: ['l4-proxy'] },
  { name: 'tcp-ambient-l4', hops: ['ztunnel-client', 'ztunnel-server'] }
]

/** Bytes per message: Istio's own benchmarks send 1 KB payloads. */
export const L4_PAYLOAD = 1024

export const l4Path = (hops: readonly HopKind[]): string => pathOf(hops, 'TCP echo')

export interface RunningL4 {
  /** The PodMeter with the echo: its HTTP URL (for /stats) and echo port. */
  pod: string
  echoPort: number
  /** Where each path's clients connect: host:port. */
  fronts: Array<{ topology: L4Topology, address: string, hops: Hop[] }>
  processes: Managed[]
}

/** Starts the echo's PodMeter, then each path's hops from back to front. */
export async function startL4 (procs: Processes, certs: Certs, base: string, cli: string): Promise<RunningL4> {
  const pm = procs.spawn('l4 podmeter', process.execPath, [cli, 'serve',
    '--host', '127.0.0.1', '--port', '0', '--delay-ms', '0', '--envoy-admin', 'off', '--tcp-echo-port', '0'])
  const pod = (await procs.waitOutput(pm, /listening on (http:\/\/\S+)/))[1] as string
  const echoPort = Number((await procs.waitOutput(pm, /TCP echo on tcp:\/\/\S+:(\d+)/))[1])
  const fronts: RunningL4['fronts'] = []
  for (const topology of L4_TOPOLOGIES) {
    const hops: Hop[] = []
    let next = echoPort
    for (const kind of [...topology.hops].reverse()) {
      const hop = await startHop(procs, kind, next, certs, base, topology.name)
      hops.unshift(hop)
      next = hop.port
    }
    fronts.push({ topology, address: `127.0.0.1:${next}`, hops })
  }
  return { pod, echoPort, fronts, processes: [pm, ...fronts.flatMap((f) => f.hops.map((h) => h.process))] }
}

export interface L4Settings { rounds: number, seconds: number, warmup: number, qps: number, connections: number }

/** One run of one path: what the client measured and what the pod saw of the same messages. */
export interface L4Run {
  topology: L4Name
  round: number
  result: TcpLoadResult
}

/** The `podmeter load` arguments of one run, without the target and output file. */
export function l4LoadArgs (s: L4Settings, pod: string): string[] {
  return [
    '-d', `${s.seconds}s`, '--warmup', `${s.warmup}s`, '--rate', String(s.qps), '-c', String(s.connections),
    '--payload', String(L4_PAYLOAD), '--stats-url', `${pod}/stats`, '--quiet'
  ]
}

/** Every path, every round, in a rotating order; each run on counters reset just before it. */
export async function runL4 (procs: Processes, l4: RunningL4, s: L4Settings, cli: string, work: string, log: (line: string) => void): Promise<L4Run[]> {
  const runs: L4Run[] = []
  const n = l4.fronts.length
  for (let round = 1; round <= s.rounds; round++) {
    for (let i = 0; i < n; i++) {
      const front = l4.fronts[(i + round - 1) % n] as RunningL4['fronts'][number]
      const name = front.topology.name
      const file = join(work, `${name}-${round}.json`)
      const reset = await fetch(`${l4.pod}/stats/reset`, { method: 'POST', signal: AbortSignal.timeout(5000) })
      if (!reset.ok) throw new Error(`${l4.pod}/stats/reset: ${reset.status}`)
      const load = procs.spawn(`${name} load`, process.execPath, [cli, 'load', `tcp://${front.address}`, ...l4LoadArgs(s, l4.pod), '--label', name, '-o', file])
      const code = await load.exited
      if (code !== 0) throw new Error(`podmeter load tcp://${front.address} (${name}) exited with ${String(code)}: ${load.output()}`)
      runs.push({ topology: name, round, result: JSON.parse(await readFile(file, 'utf8')) as TcpLoadResult })
      log(`lab: L4 round ${round} ${name}: ${runs.at(-1)?.result.responses ?? 0} messages`)
    }
  }
  return runs
}
