// `npm run bench [part…]`: measures PodMeter's performance claims against a
// baseline in the same run. Server pinned to BENCH_SERVER_CPU (0), clients to
// BENCH_CLIENT_CPU (1); comparisons interleave their rounds so machine drift
// hits both sides alike; figures are medians with min–max.
// BENCH_ROUNDS (default 5) and BENCH_SECONDS (default 3) size each part.
// Prints a markdown table and writes bench/results/<date>-<host>.json.

import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { bareArgs, getJson, have, median, podmeterArgs, quantile, RawClient, ROOT, sleep, spread, startPinned, wrk, type Proc } from './lib.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3)

interface Row { part: string, metric: string, value: string, target: string, met: boolean | null }
const rows: Row[] = []
const raw: Record<string, unknown> = {}

function row (part: string, metric: string, value: string, target = '', met: boolean | null = null): void {
  rows.push({ part, metric, value, target, met })
  process.stderr.write(`  ${metric}: ${value}${target === '' ? '' : `  (target ${target}: ${met === true ? 'met' : 'MISSED'})`}\n`)
}

async function withServers<T> (fn: (pm: Proc, bare: Proc) => Promise<T>, pmExtra: string[] = []): Promise<T> {
  const pm = await startPinned(podmeterArgs(0, pmExtra))
  const bare = await startPinned(bareArgs(0))
  try {
    return await fn(pm, bare)
  } finally {
    await pm.stop()
    await bare.stop()
  }
}

/** `/?delay=0` throughput of PodMeter against a bare node:http server, interleaved. */
async function overhead (): Promise<void> {
  process.stderr.write('overhead: PodMeter vs bare node:http, wrk -c50\n')
  await withServers(async (pm, bare) => {
    const url = (p: Proc): string => `http://127.0.0.1:${p.port}/?delay=0`
    await wrk(url(bare), 2)
    await wrk(url(pm), 2)
    const ratios: number[] = []
    const pmRps: number[] = []
    const bareRps: number[] = []
    const pmP99: number[] = []
    const bareP99: number[] = []
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which goes first so neither always gets the fresher machine.
      const order = r % 2 === 0 ? [pm, bare] : [bare, pm]
      const res = new Map<Proc, Awaited<ReturnType<typeof wrk>>>()
      for (const p of order) res.set(p, await wrk(url(p), SECONDS))
      const a = res.get(pm)!
      const b = res.get(bare)!
      pmRps.push(a.rps); bareRps.push(b.rps); pmP99.push(a.p99ms); bareP99.push(b.p99ms)
      ratios.push(a.rps / b.rps)
    }
    const stats = await getJson(`http://127.0.0.1:${pm.port}/stats`)
    raw.overhead = { ratios, pmRps, bareRps, pmP99, bareP99, samples_dropped: stats.samples_dropped, requests: stats.requests }
    row('overhead', 'req/s PodMeter / bare node:http', spread(ratios), '≥ 0.92', median(ratios) >= 0.92)
    row('overhead', 'req/s PodMeter', spread(pmRps, 0))
    row('overhead', 'req/s bare node:http', spread(bareRps, 0))
    row('overhead', 'client p99 ms PodMeter / bare', `${spread(pmP99, 3)} / ${spread(bareP99, 3)}`)
    row('overhead', 'samples_dropped after the runs', String(stats.samples_dropped), '0', stats.samples_dropped === 0)
  })
}

/** /stats latency idle and while `/` is under full load, against `/` measured the same way. */
async function stats (): Promise<void> {
  process.stderr.write('stats: /stats latency idle and under full load\n')
  const pm = await startPinned(podmeterArgs(0))
  try {
    const base = `http://127.0.0.1:${pm.port}`
    const client = await RawClient.connect(pm.port)
    for (let i = 0; i < 50; i++) await client.get('/?delay=0')
    const idle: number[] = []
    const idleLivez: number[] = []
    for (let i = 0; i < 500; i++) {
      idle.push((await client.get('/stats')).ms)
      idleLivez.push((await client.get('/livez')).ms)
    }
    // Full load from wrk; meanwhile one keep-alive client alternates / and /stats.
    const loaded = wrk(`${base}/?delay=0`, SECONDS * ROUNDS, 50)
    await sleep(500)
    const statsMs: number[] = []
    const rootMs: number[] = []
    const until = performance.now() + (SECONDS * ROUNDS - 1) * 1000
    while (performance.now() < until) {
      rootMs.push((await client.get('/?delay=0')).ms)
      statsMs.push((await client.get('/stats')).ms)
    }
    const load = await loaded
    client.close()
    const s = await getJson(`${base}/stats`)
    raw.stats = { idle, idleLivez, statsMs, rootMs, load, samples_dropped: s.samples_dropped, samples: s.samples }
    const p = (v: number[], q: number): number => quantile(v, q)
    row('stats', '/stats p50 / p99 ms, idle', `${p(idle, 0.5).toFixed(3)} / ${p(idle, 0.99).toFixed(3)}`, 'p50 ≤ 0.5 ms', p(idle, 0.5) <= 0.5)
    row('stats', '/livez p50 / p99 ms, idle, same client', `${p(idleLivez, 0.5).toFixed(3)} / ${p(idleLivez, 0.99).toFixed(3)}`)
    row('stats', '/stats p50 / p99 ms, `/` at full load', `${p(statsMs, 0.5).toFixed(3)} / ${p(statsMs, 0.99).toFixed(3)}`, 'p99 ≤ 10 ms', p(statsMs, 0.99) <= 10)
    row('stats', '`/` p50 / p99 ms, same client, same load', `${p(rootMs, 0.5).toFixed(3)} / ${p(rootMs, 0.99).toFixed(3)}`)
    const ratio = p(statsMs, 0.5) / p(rootMs, 0.5)
    row('stats', '/stats p50 ÷ `/` p50 under load', ratio.toFixed(2), '≤ 2', ratio <= 2)
    row('stats', 'wrk req/s meanwhile', load.rps.toFixed(0))
    row('stats', 'samples_dropped / samples', `${String(s.samples_dropped)} / ${String(s.samples)}`, '0 dropped', s.samples_dropped === 0)
  } finally {
    await pm.stop()
  }
}

/**
 * What the header pass costs: PodMeter / bare node:http throughput with no hop
 * headers, with a sidecar pair's headers, and with an X-Forwarded-For of 900
 * entries (node refuses headers over 16 KiB). Each ratio has the same headers
 * on both sides, so node's own parsing cancels out.
 */
async function hops (): Promise<void> {
  process.stderr.write('hops: PodMeter / bare node:http with hop headers, wrk -c50\n')
  const sets: Record<string, string[]> = {
    none: [],
    'sidecar pair': [
      'x-forwarded-proto: http', 'x-request-id: 8f1e4a2c-5b7d-4c3e-9a10-2f6b8d4e7c11', 'x-envoy-attempt-count: 1',
      'x-forwarded-client-cert: By=spiffe://cluster.local/ns/foo/sa/podmeter;Hash=1f3c9d0c7a1e5b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d;Subject="";URI=spiffe://cluster.local/ns/foo/sa/curl',
      'x-b3-traceid: 3e6f0c2b9d1a4e7f3e6f0c2b9d1a4e7f', 'x-b3-spanid: 5c1d7e2a9b3f4c6d', 'x-b3-sampled: 0'
    ],
    'XFF of 900 entries': [`x-forwarded-for: ${Array.from({ length: 900 }, (_, i) => `10.0.${i >> 8}.${i & 255}`).join(',')}`]
  }
  await withServers(async (pm, bare) => {
    const url = (p: Proc): string => `http://127.0.0.1:${p.port}/?delay=0`
    await wrk(url(bare), 2)
    await wrk(url(pm), 2)
    const ratios: Record<string, number[]> = {}
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, headers] of Object.entries(sets)) {
        const order = r % 2 === 0 ? [pm, bare] : [bare, pm]
        const res = new Map<Proc, number>()
        for (const p of order) res.set(p, (await wrk(url(p), SECONDS, 50, headers)).rps)
        ;(ratios[name] ??= []).push(res.get(pm)! / res.get(bare)!)
      }
    }
    raw.hops = ratios
    for (const [name, v] of Object.entries(ratios)) row('hops', `req/s PodMeter / bare, headers: ${name}`, spread(v))
    const s = await getJson(`http://127.0.0.1:${pm.port}/stats`)
    row('hops', 'requests_by_hop_count after the runs', JSON.stringify(s.requests_by_hop_count))
  })
}

const PARTS: Record<string, () => Promise<void>> = { overhead, stats, hops }

async function main (): Promise<void> {
  if (!have('wrk') || !have('taskset')) {
    process.stderr.write('bench: needs wrk and taskset (apt-get install wrk util-linux)\n')
    process.exit(2)
  }
  const wanted = process.argv.slice(2)
  const unknown = wanted.filter((p) => !(p in PARTS))
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown part ${unknown.join(', ')}; parts: ${Object.keys(PARTS).join(', ')}\n`)
    process.exit(2)
  }
  for (const name of wanted.length > 0 ? wanted : Object.keys(PARTS)) await PARTS[name]!()
  const when = new Date().toISOString()
  const lines = [
    `PodMeter benchmarks, ${when.slice(0, 16).replace('T', ' ')} UTC, ${os.cpus()[0]?.model ?? 'cpu'} ×${os.availableParallelism()}, Node ${process.version}, server on CPU ${process.env.BENCH_SERVER_CPU ?? '0'}, clients on CPU ${process.env.BENCH_CLIENT_CPU ?? '1'}, ${ROUNDS} rounds of ${SECONDS} s`,
    '',
    '| part | metric | median (min–max) | target | |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.part} | ${r.metric} | ${r.value} | ${r.target} | ${r.met === null ? '' : r.met ? 'met' : '**missed**'} |`)
  ]
  process.stdout.write(lines.join('\n') + '\n')
  const dir = join(ROOT, 'bench', 'results')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${when.slice(0, 10)}-${os.hostname()}.json`)
  writeFileSync(file, JSON.stringify({ when, node: process.version, cpu: os.cpus()[0]?.model, rounds: ROUNDS, seconds: SECONDS, rows, raw }, null, 2) + '\n')
  process.stderr.write(`wrote ${file}\n`)
}

await main()
