// `npm run bench:soak`: PodMeter under sustained load for SOAK_SECONDS
// (default 600), with /stats polled at 10 Hz all along. Every 10 s it samples
// the server's RSS, the main thread's JS heap (committed and used) and the
// RSS outside it, the event loop's delay p99 over those 10 s (from
// /metrics: prom-client restarts its histogram at each scrape; it samples every
// 10 ms, so an idle loop reads about 10 ms) and the /stats
// latencies the poller saw, then prints one table row; at the end, whether
// they stayed flat. The load is `podmeter load`: closed loop, as fast as
// the server answers, or with SOAK_RATE open loop on a fixed timetable (as
// wrk2); the server pinned to BENCH_SERVER_CPU and the client to
// BENCH_CLIENT_CPU.
//
//   SOAK_SECONDS   how long (default 600)
//   SOAK_RATE      requests per second, or max (default): the highest rate the machine reaches
//   SOAK_CONNECTIONS  the load's connections (default 32)
//   SOAK_POLL_MS   how often /stats is polled (default 100)

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { getJson, have, median, metricValue, pinnedClient, pinToClientCpu, podmeterArgs, quantile, RawClient, ROOT, rssMiB, sleep, startPinned } from './lib.js'

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600)
const RATE = (process.env.SOAK_RATE ?? 'max') === 'max' ? null : Number(process.env.SOAK_RATE)
const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 32)
const EVERY_S = 10
const POLL_MS = Number(process.env.SOAK_POLL_MS ?? 100)

interface Sample {
  t: number
  rps: number
  rssMiB: number
  /** The main thread's V8 heap as committed (prom-client's nodejs_heap_size_total_bytes). */
  heapTotalMiB: number
  heapMiB: number
  /** RSS less the main thread's committed heap: buffers, threads, the worker, the shared memory. */
  outsideMiB: number
  loopP99Ms: number
  statsP50Ms: number
  statsP99Ms: number
  statsMaxMs: number
  polls: number
  dropped: number
}

const f = (n: number, d = 2): string => Number.isFinite(n) ? n.toFixed(d) : 'n/a'

async function main (): Promise<void> {
  if (!have('taskset')) {
    process.stderr.write('bench:soak needs taskset (apt-get install util-linux)\n')
    process.exit(2)
  }
  pinToClientCpu()
  process.stderr.write(`soak: ${SECONDS} s at ${RATE === null ? 'the highest rate (closed loop)' : `${RATE} req/s`} over ${CONNECTIONS} connections, /stats every ${POLL_MS} ms, a row every ${EVERY_S} s\n`)
  const pm = await startPinned(podmeterArgs(0, ['--delay-ms', '0']))
  const base = `http://127.0.0.1:${pm.port}`
  const out = join(os.tmpdir(), `podmeter-soak-${process.pid}.json`)
  const samples: Sample[] = []
  try {
    const poller = await RawClient.connect(pm.port)
    const scraper = await RawClient.connect(pm.port)
    await scraper.get('/metrics') // starts prom-client's event-loop histogram
    const load = pinnedClient(process.execPath, ['dist/src/cli/main.js', 'load', '-q', '--no-stats', ...(RATE === null ? [] : ['--qps', String(RATE)]), '-c', String(CONNECTIONS), '-d', `${SECONDS}s`, '-o', out, `${base}/?delay=0`])
    const loading = new AbortController()
    load.finally(() => loading.abort()).catch(() => {})

    const start = performance.now()
    let statsMs: number[] = []
    let last = { at: start, requests: 0, dropped: 0 }
    let nextRow = start + EVERY_S * 1000
    let nextPoll = start
    process.stdout.write('| t s | req/s | RSS MiB | JS heap committed MiB | JS heap used MiB | RSS outside the JS heap MiB | loop delay p99 ms (idle ≈ 10) | /stats p50 ms | /stats p99 ms | /stats max ms | polls | samples dropped |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n')
    while (!loading.signal.aborted) {
      await sleep(Math.max(0, Math.min(nextPoll, nextRow) - performance.now()))
      const now = performance.now()
      if (now >= nextPoll) {
        const r = await poller.get('/stats')
        statsMs.push(r.ms)
        nextPoll += POLL_MS
      }
      if (now >= nextRow && !loading.signal.aborted) {
        const s = JSON.parse((await poller.get('/stats')).body) as { requests: number, samples_dropped: number, memory_heap_mb: number }
        const m = (await scraper.get('/metrics')).body
        const at = performance.now()
        const rss = rssMiB(pm.child.pid)
        const heapTotal = metricValue(m, 'nodejs_heap_size_total_bytes') / 2 ** 20
        const row: Sample = {
          t: Math.round((at - start) / 1000),
          rps: (s.requests - last.requests) / ((at - last.at) / 1000),
          rssMiB: rss,
          heapTotalMiB: heapTotal,
          heapMiB: s.memory_heap_mb,
          outsideMiB: rss - heapTotal,
          loopP99Ms: metricValue(m, 'nodejs_eventloop_lag_p99_seconds') * 1000,
          statsP50Ms: quantile(statsMs, 0.5),
          statsP99Ms: quantile(statsMs, 0.99),
          statsMaxMs: Math.max(...statsMs),
          polls: statsMs.length,
          dropped: s.samples_dropped - last.dropped
        }
        samples.push(row)
        process.stdout.write(`| ${row.t} | ${f(row.rps, 0)} | ${f(row.rssMiB, 1)} | ${f(row.heapTotalMiB, 1)} | ${f(row.heapMiB, 1)} | ${f(row.outsideMiB, 1)} | ${f(row.loopP99Ms)} | ${f(row.statsP50Ms, 3)} | ${f(row.statsP99Ms, 3)} | ${f(row.statsMaxMs, 3)} | ${row.polls} | ${row.dropped} |\n`)
        last = { at, requests: s.requests, dropped: s.samples_dropped }
        statsMs = []
        nextRow += EVERY_S * 1000
      }
    }
    await load
    poller.close()
    scraper.close()
    const result = JSON.parse(readFileSync(out, 'utf8')) as { rate: number, errors: number, sent: number, responses: number, latency_ms: { e2e: { percentiles: Record<string, number> } } }
    const final = await getJson(`${base}/stats`)
    summarize(samples, result, final)
  } finally {
    rmSync(out, { force: true })
    await pm.stop()
  }
}

/**
 * Flat: leaving out the first row (start-up, JIT), the median of the last
 * third of the rows is at most 1.5× that of the first third plus a little.
 * A trend, so one row hit by a neighbour's noise does not decide it.
 *
 * Memory is judged in two parts. V8 sizes the JS heap by its own policy: the
 * young generation steps between 4 and 32 MiB with the allocation rate (a bare
 * node:http server shows the same steps), and the old generation grows until
 * the next full GC, minutes apart at a steady rate. So the RSS saws, and a
 * median compares phases of that saw, not a leak. What is judged: the RSS
 * outside the JS heap (native memory, the worker, the shared buffers) has a
 * flat median (at most 5 MiB more), and the RSS's peak in the last third is
 * at most 5 MiB above its peak in the first (bounded: a leak raises it).
 */
function summarize (rows: Sample[], load: { rate: number, errors: number, sent: number, responses: number, latency_ms: { e2e: { percentiles: Record<string, number> } } }, final: Record<string, unknown>): void {
  const steady = rows.slice(1)
  const k = Math.max(1, Math.floor(steady.length / 3))
  const trend = (pick: (r: Sample) => number, slack: number, factor = 1.5): { early: number, late: number, flat: boolean } => {
    const early = median(steady.slice(0, k).map(pick))
    const late = median(steady.slice(-k).map(pick))
    return { early, late, flat: late <= early * factor + slack }
  }
  const peak = (rows: Sample[]): number => Math.max(...rows.map((r) => r.rssMiB))
  const rssPeaks = { early: peak(steady.slice(0, k)), late: peak(steady.slice(-k)) }
  const flat = {
    outside: trend((r) => r.outsideMiB, 5, 1),
    rss: { ...rssPeaks, flat: rssPeaks.late <= rssPeaks.early + 5 },
    loopP99: trend((r) => r.loopP99Ms, 2),
    statsP50: trend((r) => r.statsP50Ms, 0.5),
    statsP99: trend((r) => r.statsP99Ms, 2)
  }
  const say = (name: string, t: { early: number, late: number, flat: boolean }, unit: string): string =>
    `${name}: ${f(t.early)} → ${f(t.late)} ${unit} (median of the first and the last third of the rows after the first): ${t.flat ? 'flat' : 'NOT FLAT'}`
  const lines = [
    '',
    `load: ${load.responses} of ${load.sent} answered, ${load.errors} failed, ${f(load.rate, 0)} req/s, end-to-end p99 ${f(load.latency_ms.e2e.percentiles['99'] ?? Number.NaN, 3)} ms; server requests ${String(final.requests)}, samples dropped ${String(final.samples_dropped)}`,
    say('RSS outside the JS heap', flat.outside, 'MiB'),
    `RSS peak: ${f(flat.rss.early)} → ${f(flat.rss.late)} MiB (first and last third; the JS heap saws with V8's GCs, ${f(Math.min(...steady.map((r) => r.rssMiB)), 1)}–${f(peak(steady), 1)} MiB over the run): ${flat.rss.flat ? 'bounded' : 'NOT BOUNDED'}`,
    say('event-loop delay p99', flat.loopP99, 'ms'),
    say('/stats p50', flat.statsP50, 'ms'),
    say('/stats p99', flat.statsP99, 'ms')
  ]
  process.stdout.write(lines.join('\n') + '\n')
  const dir = join(ROOT, 'bench', 'out')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `soak-${new Date().toISOString().slice(0, 10)}-${os.hostname()}.json`)
  writeFileSync(file, JSON.stringify({ when: new Date().toISOString(), node: process.version, seconds: SECONDS, rate: RATE, connections: CONNECTIONS, rows, load, flat }, null, 2) + '\n')
  process.stderr.write(`wrote ${file}\n`)
}

await main()
