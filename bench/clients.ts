// The clients part of `npm run bench`: the request rate of the load
// generators (podmeter load, autocannon, wrk) against the bare server, each
// a fresh process on BENCH_CLIENT_CPU, in rotating order.

import { readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { bareArgs, median, pinnedClient, spread, startPinned, wrk } from './lib.js'
import { raw, ROUNDS, row, SECONDS } from './report.js'

interface ClientRun { rps: number, p50ms: number, p99ms: number }

// Each client run is a fresh process: both node clients warm their JIT for
// this long, unmeasured, so the figures are steady state (wrk needs none).
const WARMUP_SECONDS = 1

/** `podmeter load` on CLIENT_CPU, closed loop: its rate from its own result file. */
async function podmeterLoad (url: string, seconds: number, connections: number): Promise<ClientRun> {
  const file = join(os.tmpdir(), `podmeter-bench-${process.pid}.json`)
  await pinnedClient(process.execPath, ['dist/src/cli/main.js', 'load', '-q', '--no-stats', '-c', String(connections), '--warmup', `${WARMUP_SECONDS}s`, '-d', `${seconds}s`, '-o', file, url])
  const r = JSON.parse(readFileSync(file, 'utf8')) as { rate: number, latency_ms: { e2e: { percentiles: Record<string, number> } } }
  rmSync(file, { force: true })
  return { rps: r.rate, p50ms: r.latency_ms.e2e.percentiles['50'] ?? Number.NaN, p99ms: r.latency_ms.e2e.percentiles['99'] ?? Number.NaN }
}

/** autocannon on CLIENT_CPU: answers over its duration, from its JSON. */
async function autocannon (url: string, seconds: number, connections: number): Promise<ClientRun> {
  const out = await pinnedClient(process.execPath, ['node_modules/autocannon/autocannon.js', '-j', '-c', String(connections), '-W', '[', '-c', String(connections), '-d', String(WARMUP_SECONDS), ']', '-d', String(seconds), url])
  // With a warm-up autocannon prints two JSON lines: the warm-up's, then the measured run's.
  const last = out.trim().split('\n').at(-1) ?? ''
  const r = JSON.parse(last) as { duration: number, requests: { total: number }, latency: { p50: number, p99: number } }
  return { rps: r.requests.total / r.duration, p50ms: r.latency.p50, p99ms: r.latency.p99 }
}

/** Request rate of the load generators against the bare server, interleaved: podmeter load must keep up with autocannon. */
export async function clients (): Promise<void> {
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
  process.stderr.write(`clients: podmeter load vs autocannon vs wrk against bare node:http, -c${connections}\n`)
  const bare = await startPinned(bareArgs(0))
  try {
    const url = `http://127.0.0.1:${bare.port}/`
    const tools: Record<string, (u: string, s: number, c: number) => Promise<ClientRun>> = {
      'podmeter load': podmeterLoad,
      autocannon,
      wrk: async (u, s, c) => await wrk(u, s, c)
    }
    const runs: Record<string, ClientRun[]> = Object.fromEntries(Object.keys(tools).map((k) => [k, []]))
    const ratios: number[] = []
    const names = Object.keys(tools)
    for (let r = 0; r < ROUNDS; r++) {
      // Rotate the order so no tool always runs first.
      const order = names.map((_, i) => names[(i + r) % names.length] as string)
      for (const name of order) runs[name]!.push(await tools[name]!(url, SECONDS, connections))
      ratios.push(runs['podmeter load']!.at(-1)!.rps / runs.autocannon!.at(-1)!.rps)
    }
    raw.clients = { connections, runs, ratios }
    row('clients', 'req/s podmeter load / autocannon', spread(ratios), '≥ 1.0', median(ratios) >= 1)
    for (const name of names) {
      const v = runs[name]!
      row('clients', `req/s ${name}`, spread(v.map((x) => x.rps), 0))
      row('clients', `p50 / p99 ms ${name}`, `${spread(v.map((x) => x.p50ms), 3)} / ${spread(v.map((x) => x.p99ms), 3)}`)
    }
  } finally {
    await bare.stop()
  }
}
