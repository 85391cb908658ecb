// The scaling part (`npm run bench scaling`): PodMeter with
// 1 and N HTTP threads (HTTP_THREADS), next to the bare node:http server
// with 1 process and with node:cluster at N processes, the upper bound a
// user could get from Node. N is the CPUs this process may use. Server and
// wrk share those CPUs (with N = every core there is no core of its own for
// the client), which the table says. Besides req/s, the server's CPU time
// per request from /proc/<pid>/task/*/schedstat, every thread of every
// process of the server, which holds up when other work shares the machine.
// Rounds interleave the four servers (ABBA order), medians with the spread.
//   BENCH_NODE (this node), BENCH_SCALING_ROUNDS (4), BENCH_SECONDS (3)

import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { availableParallelism } from 'node:os'
import { freePort } from '../lab/processes.js'
import { cpuNs, getJson, median, NODE, ROOT, spread } from './lib.js'
import { raw, row, SECONDS } from './report.js'

const ROUNDS = Number(process.env.BENCH_SCALING_ROUNDS ?? 4)
const N = availableParallelism()

interface Server { name: string, args: (port: number) => string[], env: Record<string, string>, podmeter: boolean }
const SERVERS: Server[] = [
  { name: 'PodMeter, 1 thread', args: (p) => ['dist/src/cli/main.js', 'serve', '--host', '127.0.0.1', '--port', String(p)], env: { DELAY_MS: '0', HTTP_THREADS: '1' }, podmeter: true },
  { name: `PodMeter, ${N} threads`, args: (p) => ['dist/src/cli/main.js', 'serve', '--host', '127.0.0.1', '--port', String(p)], env: { DELAY_MS: '0', HTTP_THREADS: String(N) }, podmeter: true },
  { name: 'bare node:http, 1 process', args: (p) => ['dist/bench/bare-cluster.js', String(p), '1'], env: {}, podmeter: false },
  { name: `bare node:http, cluster of ${N}`, args: (p) => ['dist/bench/bare-cluster.js', String(p), String(N)], env: {}, podmeter: false }
]

async function start (s: Server): Promise<{ child: ChildProcess, port: number }> {
  const port = await freePort()
  const child = spawn(NODE, s.args(port), { cwd: ROOT, env: { ...process.env, SHUTDOWN_DELAY_MS: '0', ...s.env }, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (c: Buffer) => { out += c.toString(); if (/listening/.test(out)) resolve() })
    child.once('exit', (code) => reject(new Error(`${s.name} exited with ${String(code)}: ${out}`)))
  })
  return { child, port }
}

async function wrk (port: number, seconds: number): Promise<number> {
  const child = spawn('wrk', ['-t2', '-c100', `-d${seconds}s`, `http://127.0.0.1:${port}/`], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  await once(child, 'exit')
  return Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN)
}

export async function scaling (): Promise<void> {
  process.stderr.write(`scaling: PodMeter with 1 and ${N} HTTP threads, bare node:http with 1 and ${N} processes, wrk -t2 -c100 sharing the ${N} CPUs\n`)
  const rps: number[][] = SERVERS.map(() => [])
  const usPerRequest: number[][] = SERVERS.map(() => [])
  const exact: string[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const order = SERVERS.map((_, i) => i)
    if (round % 2 === 1) order.reverse()
    for (const i of order) {
      const s = SERVERS[i] as Server
      const { child, port } = await start(s)
      await wrk(port, 1) // warm-up
      const before = await getJson(`http://127.0.0.1:${port}/stats`).catch(() => ({ requests: 0 })) as { requests: number }
      const cpu0 = cpuNs(child.pid as number)
      const t0 = performance.now()
      const done = await wrk(port, SECONDS)
      const cpu1 = cpuNs(child.pid as number)
      const seconds = (performance.now() - t0) / 1000
      let served = done
      if (s.podmeter) {
        const after = await getJson(`http://127.0.0.1:${port}/stats`) as { requests: number, samples: number, samples_dropped: number, requests_by_http_thread: number[] }
        // wrk counts the answers it read; the server also those in flight when wrk stopped (≤ 100).
        served = after.requests - before.requests - 1
        exact.push(`${s.name}, round ${round + 1}: wrk read ${done}, server counted ${served}; samples ${after.samples} = requests ${after.requests}; dropped ${after.samples_dropped}; by thread ${after.requests_by_http_thread.join(' / ')}`)
      }
      ;(rps[i] as number[]).push(done / seconds)
      ;(usPerRequest[i] as number[]).push((cpu1 - cpu0) / 1000 / served)
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  }
  raw.scaling = { cpus: N, rounds: ROUNDS, seconds: SECONDS, servers: SERVERS.map((s) => s.name), rps, usPerRequest, exact }
  const version = execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim()
  const bare = median(usPerRequest[2] as number[])
  SERVERS.forEach((s, i) => {
    row('scaling', `${s.name} (Node ${version}; wrk shares the ${N} CPUs): req/s`, spread(rps[i] as number[], 0))
    row('scaling', `${s.name}: server CPU µs/request (÷ bare 1 process)`, `${spread(usPerRequest[i] as number[], 1)} (${(median(usPerRequest[i] as number[]) / bare).toFixed(3)})`)
  })
  for (const e of exact) row('scaling', 'counted', e)
}
