// The cpu part: the server's CPU time per request, PodMeter against a bare
// node:http server, which holds up when other work shares the machine where
// req/s does not. Server on BENCH_SERVER_CPU, `wrk -t1 -c100` on
// BENCH_CLIENT_CPU; `/` with no delay, plain and with 10 requests pipelined
// on each connection. BENCH_CPU_ROUNDS (8) interleaved rounds (ABBA) of
// BENCH_SECONDS (3) s, each after a 1 s warm-up of the same server. CPU is
// every thread of the server process, from schedstat; requests are those
// wrk read. Efficiency is bare ÷ PodMeter per round: 1 means no overhead.
// BENCH_NODE picks the node that runs both servers.
//
// Each round also runs both servers at once, side by side on the server CPU,
// each with its own wrk on the client CPU: whatever the machine's neighbours
// do then hits both in the same seconds, so the ratio of that run ("side by
// side") spreads far less than the ABBA pair's on a noisy VM (there, an A/A
// run of two bare servers gave 0.996, 0.94–1.01). It is another load than
// the ABBA runs' (two servers share one core), so its CPU per request is
// not theirs; only its ratio is reported.

import { execFileSync } from 'node:child_process'
import { bareArgs, cpuNs, getJson, median, NODE, podmeterArgs, spread, startPinned, wrk, type Proc } from './lib.js'
import { raw, row, SECONDS } from './report.js'

const ROUNDS = Number(process.env.BENCH_CPU_ROUNDS ?? 8)
const CONNECTIONS = 100
/** Issue 17: PodMeter's CPU per request within 8 % of the bare server's. */
const TARGET = 0.92

export interface CpuRun { rps: number, usPerRequest: number, requests: number, p99ms: number }

/** One measured wrk run against `p`, with the server's CPU time over exactly that run. */
export async function cpuRun (p: Proc, path: string, seconds: number, pipeline = 1, connections = CONNECTIONS): Promise<CpuRun> {
  const url = `http://127.0.0.1:${p.port}${path}`
  const before = cpuNs(p.child.pid)
  const r = await wrk(url, seconds, connections, [], pipeline)
  const ns = cpuNs(p.child.pid) - before
  return { rps: r.rps, usPerRequest: ns / 1000 / r.requests, requests: r.requests, p99ms: r.p99ms }
}

interface Arm { runs: CpuRun[], counted: number[] }

/** Both servers loaded at once for `seconds`, each by its own wrk: their CPU µs per request. */
async function sideBySide (a: Proc, b: Proc, seconds: number, pipeline: number): Promise<[number, number]> {
  const url = (p: Proc): string => `http://127.0.0.1:${p.port}/`
  const [a0, b0] = [cpuNs(a.child.pid), cpuNs(b.child.pid)]
  const [ra, rb] = await Promise.all([wrk(url(a), seconds, CONNECTIONS, [], pipeline), wrk(url(b), seconds, CONNECTIONS, [], pipeline)])
  return [(cpuNs(a.child.pid) - a0) / 1000 / ra.requests, (cpuNs(b.child.pid) - b0) / 1000 / rb.requests]
}

export async function cpu (): Promise<void> {
  const version = execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim()
  process.stderr.write(`cpu: server CPU per request, PodMeter vs bare node:http, Node ${version}, wrk -t1 -c${CONNECTIONS}, ${ROUNDS} rounds of ${SECONDS} s\n`)
  const pm = await startPinned(podmeterArgs(0, ['--delay-ms', '0']))
  const bare = await startPinned(bareArgs(0))
  const workloads: Record<string, number> = { plain: 1, 'pipelined ×10': 10 }
  const arms = new Map<string, { pm: Arm, bare: Arm }>()
  /** Per workload, bare ÷ PodMeter of each side-by-side run. */
  const paired = new Map<string, number[]>()
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, pipeline] of Object.entries(workloads)) {
        const arm = arms.get(name) ?? { pm: { runs: [], counted: [] }, bare: { runs: [], counted: [] } }
        arms.set(name, arm)
        // ABBA: the first of the pair alternates, so drift in the machine hits both alike.
        const order: Array<[Proc, Arm]> = round % 2 === 0 ? [[pm, arm.pm], [bare, arm.bare]] : [[bare, arm.bare], [pm, arm.pm]]
        for (const [p, a] of order) {
          await wrk(`http://127.0.0.1:${p.port}/`, 1, CONNECTIONS, [], pipeline)
          const before = p === pm ? Number((await getJson(`http://127.0.0.1:${pm.port}/stats`)).requests) : 0
          a.runs.push(await cpuRun(p, '/', SECONDS, pipeline))
          // The server also counts the answers in flight when wrk stopped, and the /stats that asks.
          if (p === pm) a.counted.push(Number((await getJson(`http://127.0.0.1:${pm.port}/stats`)).requests) - before - 1)
        }
        const [pmUs, bareUs] = await sideBySide(pm, bare, SECONDS, pipeline)
        // A wrk that could not run (its count unread) leaves this round out.
        if (Number.isFinite(bareUs / pmUs)) paired.set(name, [...(paired.get(name) ?? []), bareUs / pmUs])
      }
    }
    const s = await getJson(`http://127.0.0.1:${pm.port}/stats`)
    raw.cpu = { node: version, rounds: ROUNDS, seconds: SECONDS, arms: Object.fromEntries(arms), sideBySide: Object.fromEntries(paired), samples: s.samples, requests: s.requests, samples_dropped: s.samples_dropped }
    for (const [name, { pm: a, bare: b }] of arms) {
      const us = (x: Arm): number[] => x.runs.map((r) => r.usPerRequest)
      const efficiency = us(b).map((v, i) => v / (us(a)[i] as number))
      const ratio = a.runs.map((r, i) => r.rps / (b.runs[i] as CpuRun).rps)
      row('cpu', `${name}: server CPU µs/request, PodMeter / bare`, `${spread(us(a), 2)} / ${spread(us(b), 2)}`)
      row('cpu', `${name}: efficiency, bare ÷ PodMeter CPU per request`, spread(efficiency, 3), `≥ ${TARGET}`, median(efficiency) >= TARGET)
      const side = paired.get(name) ?? []
      row('cpu', `${name}: efficiency side by side (both at once on one core)`, spread(side, 3), `≥ ${TARGET}`, median(side) >= TARGET)
      row('cpu', `${name}: req/s PodMeter / bare`, `${spread(a.runs.map((r) => r.rps), 0)} / ${spread(b.runs.map((r) => r.rps), 0)}`)
      row('cpu', `${name}: req/s PodMeter ÷ bare`, spread(ratio, 3))
      // What the server counted beyond what wrk read: the answers in flight when wrk stopped, and their aborts.
      const inFlight = a.counted.map((c, i) => c - (a.runs[i] as CpuRun).requests)
      row('cpu', `${name}: PodMeter counted − wrk read, per run`, `${Math.min(...inFlight)}–${Math.max(...inFlight)}`)
    }
    // A pipelined request whose client left before its answer went out is aborted: counted, with no sample.
    const answered = Number(s.requests) - Number((s.status_codes as { aborted: number }).aborted)
    row('cpu', 'samples = requests − aborted; dropped', `${String(s.samples)} = ${answered}; ${String(s.samples_dropped)}`, 'equal; 0', s.samples === answered && s.samples_dropped === 0)
  } finally {
    await pm.stop()
    await bare.stop()
  }
}
