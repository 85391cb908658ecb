// `npm run bench [part…]`: measures PodMeter's performance claims against a
// baseline in the same run. Server pinned to BENCH_SERVER_CPU (0), clients to
// BENCH_CLIENT_CPU (1); comparisons interleave their rounds so machine drift
// hits both sides alike; figures are medians with min–max.
// BENCH_ROUNDS (default 5) and BENCH_SECONDS (default 3) size each part;
// BENCH_CONNECTIONS (default 50) is the clients part's -c.
// Prints a markdown table and writes bench/out/<date>-<host>.json (ignored by
// git; the figures worth keeping go to bench/results/latest.md by hand).

import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import { join } from 'node:path'
import { bareArgs, CLIENT_CPU, getJson, getText, have, median, metricValue, podmeterArgs, quantile, pinToClientCpu, RawClient, ROOT, rssMiB, sleep, spread, startPinned, wrk, type Proc, type WrkResult } from './lib.js'
import { micro, summary } from './micro.js'
import { idleMemory } from './memory.js'
import { raw, ROUNDS, row, rows, SECONDS } from './report.js'
import { clients } from './clients.js'
import { openloop, stall, verdict } from './client-loop.js'
import { crashes } from './crashes.js'
import { cpu, cpuRun, type CpuRun } from './cpu.js'
import { scaling } from './scaling.js'

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

/** `/?delay=0` throughput and server CPU per request of PodMeter against a bare node:http server, interleaved. */
async function overhead (): Promise<void> {
  process.stderr.write('overhead: PodMeter vs bare node:http, wrk -c50\n')
  await withServers(async (pm, bare) => {
    await wrk(`http://127.0.0.1:${bare.port}/?delay=0`, 2)
    await wrk(`http://127.0.0.1:${pm.port}/?delay=0`, 2)
    const runs = new Map<Proc, CpuRun[]>([[pm, []], [bare, []]])
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which goes first so neither always gets the fresher machine.
      for (const p of r % 2 === 0 ? [pm, bare] : [bare, pm]) runs.get(p)?.push(await cpuRun(p, '/?delay=0', SECONDS, 1, 50))
    }
    const a = runs.get(pm) as CpuRun[]
    const b = runs.get(bare) as CpuRun[]
    const ratios = a.map((x, i) => x.rps / (b[i] as CpuRun).rps)
    const efficiency = a.map((x, i) => (b[i] as CpuRun).usPerRequest / x.usPerRequest)
    const stats = await getJson(`http://127.0.0.1:${pm.port}/stats`)
    raw.overhead = { pm: a, bare: b, ratios, efficiency, samples_dropped: stats.samples_dropped, requests: stats.requests }
    row('overhead', 'req/s PodMeter / bare node:http', spread(ratios), '≥ 0.92', median(ratios) >= 0.92)
    row('overhead', 'req/s PodMeter', spread(a.map((x) => x.rps), 0))
    row('overhead', 'req/s bare node:http', spread(b.map((x) => x.rps), 0))
    row('overhead', 'client p99 ms PodMeter / bare', `${spread(a.map((x) => x.p99ms), 3)} / ${spread(b.map((x) => x.p99ms), 3)}`)
    row('overhead', 'server CPU µs/request PodMeter / bare', `${spread(a.map((x) => x.usPerRequest))} / ${spread(b.map((x) => x.usPerRequest))}`)
    row('overhead', 'efficiency, bare ÷ PodMeter CPU per request', spread(efficiency, 3), '≥ 0.92', median(efficiency) >= 0.92)
    row('overhead', 'samples_dropped after the runs', String(stats.samples_dropped), '0', stats.samples_dropped === 0)
  })
}

interface Alternated { idle: [number[], number[]], loaded: [number[], number[]], load: WrkResult }

/**
 * One keep-alive client alternating two paths: `idleRounds` times on an idle
 * server, then for as long as wrk drives `/?delay=0` at full load.
 */
async function alternate (pm: Proc, idlePaths: [string, string], loadedPaths: [string, string], idleRounds: number): Promise<Alternated> {
  const client = await RawClient.connect(pm.port)
  for (let i = 0; i < 50; i++) await client.get('/?delay=0')
  const idle: [number[], number[]] = [[], []]
  for (let i = 0; i < idleRounds; i++) {
    idle[0].push((await client.get(idlePaths[0])).ms)
    idle[1].push((await client.get(idlePaths[1])).ms)
  }
  const loading = wrk(`http://127.0.0.1:${pm.port}/?delay=0`, SECONDS * ROUNDS, 50)
  await sleep(500)
  const loaded: [number[], number[]] = [[], []]
  const until = performance.now() + (SECONDS * ROUNDS - 1) * 1000
  while (performance.now() < until) {
    loaded[0].push((await client.get(loadedPaths[0])).ms)
    loaded[1].push((await client.get(loadedPaths[1])).ms)
  }
  const load = await loading
  client.close()
  return { idle, loaded, load }
}

const pq = (v: number[]): string => `${quantile(v, 0.5).toFixed(3)} / ${quantile(v, 0.99).toFixed(3)}`

/**
 * PodMeter's RSS, and the part of it outside the main thread's JS heap (RSS
 * less V8's committed heap, from /metrics), in MiB. V8 sizes the heap by its
 * own policy (the young generation alone steps between 4 and 32 MiB with the
 * allocation rate), so the part outside it is where growth with samples would
 * show: native memory, the worker, the shared buffers.
 */
async function memory (pm: Proc): Promise<{ rss: number, outside: number }> {
  const m = await getText(`http://127.0.0.1:${pm.port}/metrics`)
  const heap = metricValue(m, 'nodejs_heap_size_total_bytes') / 2 ** 20
  const rss = rssMiB(pm.child.pid)
  return { rss, outside: rss - heap }
}

/** Drives `/?delay=0` with wrk until PodMeter has recorded `samples`. */
async function driveTo (pm: Proc, samples: number): Promise<void> {
  const base = `http://127.0.0.1:${pm.port}`
  for (;;) {
    const s = await getJson(`${base}/stats`)
    const left = samples - Number(s.samples)
    if (left <= 0) return
    // About 60k req/s here: ask for a bit less than what is left, at most 20 s.
    await wrk(`${base}/?delay=0`, Math.max(1, Math.min(20, Math.floor(left / 80_000))), 50)
  }
}

/**
 * Memory and /stats after many samples: RSS idle (against a bare server), after
 * 100 thousand and after PRELOAD (10 million) samples; then /stats latency
 * idle and while `/` is at full load, against `/` measured the same way.
 */
async function stats (): Promise<void> {
  const preload = Number(process.env.BENCH_PRELOAD ?? 10_000_000)
  process.stderr.write(`stats: memory and /stats latency, after ${preload} samples\n`)
  await withServers(async (pm, bare) => {
    const base = `http://127.0.0.1:${pm.port}`
    await sleep(1000)
    const idleRss = rssMiB(pm.child.pid)
    const bareRss = rssMiB(bare.child.pid)
    await driveTo(pm, 100_000)
    const at100k = await memory(pm)
    await driveTo(pm, preload)
    const atPreload = await memory(pm)
    const growth = atPreload.outside - at100k.outside
    row('memory', 'RSS MiB idle, PodMeter / bare node:http', `${idleRss.toFixed(1)} / ${bareRss.toFixed(1)}`)
    row('memory', 'RSS MiB after 100k / after preload samples', `${at100k.rss.toFixed(1)} / ${atPreload.rss.toFixed(1)}`)
    row('memory', 'RSS outside the JS heap, MiB, after 100k / after preload', `${at100k.outside.toFixed(1)} / ${atPreload.outside.toFixed(1)}`)
    row('memory', 'growth of the RSS outside the JS heap, 100k → preload, MiB', growth.toFixed(1), '≤ 5', growth <= 5)

    const { idle: [idle, idleLivez], loaded: [rootMs, statsMs], load } = await alternate(pm, ['/stats', '/livez'], ['/?delay=0', '/stats'], 500)
    const s = await getJson(`${base}/stats`)
    raw.stats = { idleRss, bareRss, at100k, atPreload, idle, idleLivez, statsMs, rootMs, load, samples_dropped: s.samples_dropped, samples: s.samples }
    const p = (v: number[], q: number): number => quantile(v, q)
    row('stats', `/stats p50 / p99 ms, idle, ${String(s.samples)} samples`, pq(idle), 'p50 ≤ 0.5 ms', p(idle, 0.5) <= 0.5)
    row('stats', '/livez p50 / p99 ms, idle, same client', pq(idleLivez))
    row('stats', '/stats p50 / p99 ms, `/` at full load', pq(statsMs), 'p99 ≤ 10 ms', p(statsMs, 0.99) <= 10)
    row('stats', '`/` p50 / p99 ms, same client, same load', pq(rootMs))
    const ratio = p(statsMs, 0.5) / p(rootMs, 0.5)
    row('stats', '/stats p50 ÷ `/` p50 under load', ratio.toFixed(2), '≤ 2', ratio <= 2)
    row('stats', 'wrk req/s meanwhile', load.rps.toFixed(0))
    row('stats', 'samples_dropped / samples', `${String(s.samples_dropped)} / ${String(s.samples)}`, '0 dropped', s.samples_dropped === 0)
  })
}

/**
 * PodMeter's req/s with /stats polled at 100 Hz, against the same poller
 * asking a dummy server in this process instead. The poller shares the client
 * CPU with wrk, and that alone costs wrk several per cent: measured against no
 * poller at all (the third figure), the ratio would charge /stats for it.
 */
async function polling (): Promise<void> {
  process.stderr.write('polling: `/` throughput with /stats polled at 100 Hz vs the same poller on a dummy server\n')
  const pm = await startPinned(podmeterArgs(0))
  const dummy = http.createServer((_req, res) => res.end('{"status":"ok"}\n')).listen(0, '127.0.0.1')
  await once(dummy, 'listening')
  const dummyPort = (dummy.address() as AddressInfo).port
  const url = `http://127.0.0.1:${pm.port}/?delay=0`
  /** wrk while one keep-alive client GETs `path` from `port` at 100 Hz; req/s and polls/s. */
  const polled = async (port: number, path: string): Promise<{ rps: number, polls: number }> => {
    const stop = new AbortController()
    let n = 0
    const client = await RawClient.connect(port)
    const poller = (async () => {
      let next = performance.now()
      while (!stop.signal.aborted) {
        await client.get(path)
        n++
        next += 10
        await sleep(Math.max(0, next - performance.now()))
      }
    })()
    const r = await wrk(url, SECONDS)
    stop.abort()
    await poller
    client.close()
    return { rps: r.rps, polls: n / SECONDS }
  }
  try {
    await wrk(url, 2)
    const ratios: number[] = []
    const bare: number[] = []
    const polls: number[] = []
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate the order, so a drift in the machine does not favour one arm.
      let control, stats
      if (r % 2 === 0) {
        control = await polled(dummyPort, '/')
        stats = await polled(pm.port, '/stats')
      } else {
        stats = await polled(pm.port, '/stats')
        control = await polled(dummyPort, '/')
      }
      const quiet = await wrk(url, SECONDS)
      ratios.push(stats.rps / control.rps)
      bare.push(stats.rps / quiet.rps)
      polls.push(stats.polls)
    }
    raw.polling = { ratios, bare, polls }
    row('polling', 'req/s with /stats at 100 Hz ÷ the same poller on a dummy server', spread(ratios), '≥ 0.97', median(ratios) >= 0.97)
    row('polling', 'req/s with /stats at 100 Hz ÷ no poller (also charges the poller\'s CPU)', spread(bare))
    row('polling', '/stats polls per second achieved', spread(polls, 0))
  } finally {
    dummy.close()
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

/** Samples dropped at the highest rate wrk reaches, and the ring's headroom at that rate. */
async function loss (): Promise<void> {
  process.stderr.write('loss: samples_dropped at wrk\'s top rate\n')
  const pm = await startPinned(podmeterArgs(0))
  try {
    const base = `http://127.0.0.1:${pm.port}`
    let best = 0
    for (const c of [50, 200, 500]) best = Math.max(best, (await wrk(`${base}/?delay=0`, SECONDS * 2, c)).rps)
    const s = await getJson(`${base}/stats`)
    const capacity = 2 ** 18
    raw.loss = { best, samples_dropped: s.samples_dropped, samples: s.samples }
    row('loss', 'top wrk req/s (c = 50, 200, 500)', best.toFixed(0))
    row('loss', 'samples_dropped / samples', `${String(s.samples_dropped)} / ${String(s.samples)}`, '0', s.samples_dropped === 0)
    row('loss', 'ring headroom at that rate', `${(capacity / best).toFixed(1)} s = ${(capacity / best / 0.05).toFixed(0)}× the 50 ms drain interval`)
  } finally {
    await pm.stop()
  }
}

/** The original's own workload: hey -n 10000 -c 100 at the default 20 ms. */
async function hey (): Promise<void> {
  if (!have('hey')) { row('hey', 'hey', 'not installed (apt-get install hey)'); return }
  process.stderr.write('hey: hey -n 10000 -c 100 at 20 ms, as the original\'s README runs it\n')
  const pm = await startPinned(podmeterArgs(0))
  try {
    const url = `http://127.0.0.1:${pm.port}/`
    const out = execFileSync('taskset', ['-c', CLIENT_CPU, 'hey', '-n', '10000', '-c', '100', url], { encoding: 'utf8' })
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
    const pct = (q: string): number => Number(new RegExp(`${q}% in ([\\d.]+) secs`).exec(out)?.[1]) * 1000
    const s = await getJson(`http://127.0.0.1:${pm.port}/stats`)
    raw.hey = { out, stats: s }
    row('hey', 'hey req/s ÷ 5,000 ideal (100 connections × 50/s)', `${rps.toFixed(0)} (${(rps / 5000).toFixed(3)})`)
    row('hey', 'p50 ms: hey end to end / PodMeter service time', `${pct('50').toFixed(3)} / ${String(s.p50_latency_ms)}`)
    row('hey', 'p99 ms: hey end to end / PodMeter service time', `${pct('99').toFixed(3)} / ${String(s.p99_latency_ms)}`)
    row('hey', 'requests counted / sent', `${String(s.requests)} / 10000`, 'equal', s.requests === 10000)
  } finally {
    await pm.stop()
  }
}

async function microPart (): Promise<void> {
  process.stderr.write('micro: ring, counters, histogram record, percentiles, encoding\n')
  const results = micro()
  raw.micro = results
  for (const r of results) row('micro', r.name, `${summary(r)} (${Math.min(...r.values).toFixed(1)}–${Math.max(...r.values).toFixed(1)})`)
}

/** /metrics and /stats/histogram latency, idle and while `/` is under full load. */
async function metrics (): Promise<void> {
  process.stderr.write('metrics: /metrics and /stats/histogram latency idle and under full load\n')
  const pm = await startPinned(podmeterArgs(0))
  try {
    const base = `http://127.0.0.1:${pm.port}`
    const { idle: [idleMetrics, idleHistogram], loaded: [metricsMs, histogramMs], load } =
      await alternate(pm, ['/metrics', '/stats/histogram'], ['/metrics', '/stats/histogram'], 300)
    const bytes = (await getText(`${base}/metrics`)).length
    const s = await getJson(`${base}/stats`)
    raw.metrics = { idleMetrics, idleHistogram, metricsMs, histogramMs, load, bytes, samples_dropped: s.samples_dropped }
    row('metrics', '/metrics p50 / p99 ms, idle', pq(idleMetrics))
    row('metrics', '/stats/histogram p50 / p99 ms, idle', pq(idleHistogram))
    row('metrics', '/metrics p50 / p99 ms, `/` at full load', pq(metricsMs), 'p99 ≤ 10 ms', quantile(metricsMs, 0.99) <= 10)
    row('metrics', '/stats/histogram p50 / p99 ms, `/` at full load', pq(histogramMs), 'p99 ≤ 10 ms', quantile(histogramMs, 0.99) <= 10)
    row('metrics', 'wrk req/s meanwhile (scraped back to back)', load.rps.toFixed(0))
    row('metrics', '/metrics size, bytes', String(bytes))
    row('metrics', 'samples_dropped', String(s.samples_dropped), '0', s.samples_dropped === 0)
  } finally {
    await pm.stop()
  }
}

/**
 * The cost of the in-pod baseline listener: `/?delay=0` on the main port of a
 * PodMeter with BASELINE_PORT on, against one without, and the baseline port's
 * own rate against the main port's in the same process. Interleaved rounds.
 */
async function baseline (): Promise<void> {
  process.stderr.write('baseline: main port with BASELINE_PORT on vs off, and the baseline port itself, wrk -c50\n')
  const on = await startPinned(podmeterArgs(0, ['--baseline-port', '0']))
  const off = await startPinned(podmeterArgs(0))
  try {
    const basePort = ((await getJson(`http://127.0.0.1:${on.port}/stats`)).baseline as { port: number }).port
    const targets = { on: on.port, off: off.port, baselinePort: basePort }
    const url = (port: number): string => `http://127.0.0.1:${port}/?delay=0`
    for (const port of Object.values(targets)) await wrk(url(port), 2)
    const rps: Record<keyof typeof targets, number[]> = { on: [], off: [], baselinePort: [] }
    const keys = Object.keys(targets) as Array<keyof typeof targets>
    for (let r = 0; r < ROUNDS; r++) {
      // Rotate the order so that no target always runs first.
      for (let i = 0; i < keys.length; i++) {
        const k = keys[(i + r) % keys.length] as keyof typeof targets
        rps[k].push((await wrk(url(targets[k]), SECONDS)).rps)
      }
    }
    const ratio = (a: number[], b: number[]): number[] => a.map((x, i) => x / (b[i] as number))
    const s = await getJson(`http://127.0.0.1:${on.port}/stats`)
    raw.baseline = { ...rps, samples_dropped: s.samples_dropped, baseline_samples_dropped: (s.baseline as { samples_dropped: number }).samples_dropped }
    row('baseline', 'req/s main port, baseline listener on ÷ off', spread(ratio(rps.on, rps.off)))
    row('baseline', 'req/s baseline port ÷ main port, same process', spread(ratio(rps.baselinePort, rps.on)))
    row('baseline', 'req/s main port on / off / baseline port', `${spread(rps.on, 0)} / ${spread(rps.off, 0)} / ${spread(rps.baselinePort, 0)}`)
  } finally {
    await on.stop()
    await off.stop()
  }
}

const PARTS: Record<string, () => Promise<void>> = { overhead, polling, stats, loss, hey, metrics, hops, baseline, micro: microPart, clients, openloop, stall, verdict, crashes, memory: idleMemory, cpu, scaling }

async function main (): Promise<void> {
  if (!have('wrk') || !have('taskset')) {
    process.stderr.write('bench: needs wrk and taskset (apt-get install wrk util-linux)\n')
    process.exit(2)
  }
  pinToClientCpu()
  const wanted = process.argv.slice(2)
  const unknown = wanted.filter((p) => !(p in PARTS))
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown part ${unknown.join(', ')}; parts: ${Object.keys(PARTS).join(', ')}\n`)
    process.exit(2)
  }
  const parts = wanted.length > 0 ? wanted : Object.keys(PARTS)
  for (const name of parts) await PARTS[name]!()
  const when = new Date().toISOString()
  const lines = [
    `PodMeter benchmarks, ${when.slice(0, 16).replace('T', ' ')} UTC, ${os.cpus()[0]?.model ?? 'cpu'} ×${os.cpus().length}, Node ${process.version}, server on CPU ${process.env.BENCH_SERVER_CPU ?? '0'}, clients on CPU ${process.env.BENCH_CLIENT_CPU ?? '1'}, ${ROUNDS} rounds of ${SECONDS} s`,
    '',
    '| part | metric | median (min–max) | target | |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.part} | ${r.metric} | ${r.value} | ${r.target} | ${r.met === null ? '' : r.met ? 'met' : '**missed**'} |`)
  ]
  process.stdout.write(lines.join('\n') + '\n')
  const dir = join(ROOT, 'bench', 'out')
  mkdirSync(dir, { recursive: true })
  // A run of some parts does not overwrite the day's full run.
  const suffix = wanted.length > 0 ? '-' + parts.join('-') : ''
  const file = join(dir, `${when.slice(0, 10)}-${os.hostname()}${suffix}.json`)
  writeFileSync(file, JSON.stringify({ when, node: process.version, cpu: os.cpus()[0]?.model, rounds: ROUNDS, seconds: SECONDS, rows, raw }, null, 2) + '\n')
  process.stderr.write(`wrote ${file}\n`)
}

await main()
