// `npm run bench:prometheus`: what a Prometheus user reads, against /stats.
// A PodMeter (pinned to the server CPU) under `hey -z 20s -c 20` (pinned to
// the client CPU), scraped every second by two real Prometheus servers, one
// with native histograms on, one without. When hey ends, the quantiles of the
// last 15 s three ways: /stats?window=15, histogram_quantile over the
// classic `le` buckets, and over the native histogram, both
// `sum(rate(…[15s]))` at the last scrape; and the same samples exactly:
// /stats since start against a rate() whose range reaches back to the empty
// scrape before the load (a noisy machine's tail is not stationary, so two
// different 15 s stretches need not agree). Then the scrape itself: size and
// client-side time of /metrics in each format, interleaved (ABBA), after the
// load. Two workloads: the delay mix and the default DELAY_MS=20.
//   BENCH_SECONDS (20), BENCH_SCRAPES (200 per format)

import { startPrometheus, until, type Prometheus } from '../lab/prometheus.js'
import { freePort } from '../lab/processes.js'
import { getJson, have, median, pinnedClient, podmeterArgs, quantile, startPinned } from './lib.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20)
const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 200)
const QUANTILES = [50, 90, 95, 99]
const NAME = 'podmeter_request_duration_seconds'
const FORMATS: Record<string, string> = {
  protobuf: 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited',
  openmetrics: 'application/openmetrics-text;version=1.0.0',
  text: 'text/plain;version=0.0.4'
}

const ms = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(3))
const off = (v: number, ref: number): string => `${v >= ref ? '+' : ''}${(((v - ref) / ref) * 100).toFixed(1)} %`

async function quantiles (prom: Prometheus, expr: (q: number) => string, at: number): Promise<number[]> {
  const out: number[] = []
  for (const q of QUANTILES) out.push(((await prom.value(expr(q / 100), at)) ?? NaN) * 1000)
  return out
}

async function scrapeOnce (url: string, accept: string): Promise<{ bytes: number, ms: number }> {
  const t0 = performance.now()
  const r = await fetch(url, { headers: { accept } })
  const body = await r.arrayBuffer()
  return { bytes: body.byteLength, ms: performance.now() - t0 }
}

async function workload (title: string, path: string, env: Record<string, string>): Promise<string[]> {
  const port = await freePort()
  const pm = await startPinned(podmeterArgs(port), { WINDOW_SECONDS: '15', ...env })
  const url = `http://127.0.0.1:${port}`
  const targets = [{ url, labels: { pod: 'bench' } }]
  const native = await startPrometheus(targets, { features: ['native-histograms'] })
  const classic = await startPrometheus(targets)
  const lines: string[] = []
  try {
    await until('both Prometheus servers to scrape', 30_000, async () =>
      (await native.value(`histogram_count(${NAME})`)) === 0 && (await classic.value(`${NAME}_count`)) === 0 ? true : undefined)
    const t0 = Date.now() / 1000
    await pinnedClient('hey', ['-z', `${SECONDS}s`, '-c', '20', `${url}${path}`])
    const s = await getJson(`${url}/stats?percentiles=${QUANTILES.join(',')}&window=15`) as { percentiles: Record<string, number>, percentiles_samples: number }
    const life = await getJson(`${url}/stats?percentiles=${QUANTILES.join(',')}`) as { percentiles: Record<string, number> }
    const total = (await getJson(`${url}/stats`) as { samples: number }).samples
    const last = async (prom: Prometheus, q: string): Promise<number> => await until('the last scrape', 15_000, async () => {
      const r = (await prom.query(q))[0]
      return r?.value === total ? r.time : undefined
    })
    const atN = await last(native, `histogram_count(${NAME})`)
    const atC = await last(classic, `${NAME}_count`)
    const stats = QUANTILES.map((q) => s.percentiles[`p${q}`] as number)
    const cl = await quantiles(classic, (q) => `histogram_quantile(${q}, sum by (le) (rate(${NAME}_bucket[15s])))`, atC)
    const na = await quantiles(native, (q) => `histogram_quantile(${q}, sum(rate(${NAME}[15s])))`, atN)
    const whole = `${Math.ceil(Math.max(atN, atC) - t0) + 2}s`
    const lifetime = QUANTILES.map((q) => life.percentiles[`p${q}`] as number)
    const clAll = await quantiles(classic, (q) => `histogram_quantile(${q}, sum by (le) (rate(${NAME}_bucket[${whole}])))`, atC)
    const naAll = await quantiles(native, (q) => `histogram_quantile(${q}, sum(rate(${NAME}[${whole}])))`, atN)
    lines.push(`### ${title}: \`hey -z ${SECONDS}s -c 20 '${path}'\` (${total} requests; /stats window: ${s.percentiles_samples} samples)`, '',
      `| quantile | /stats window | classic, rate[15s] | native, rate[15s] | /stats since start | classic, rate[${whole}] | native, rate[${whole}] |`, '|---|---|---|---|---|---|---|')
    const cell = (v: number | undefined, ref: number | undefined): string => `${ms(v)} (${off(v as number, ref as number)})`
    QUANTILES.forEach((q, i) => lines.push(`| p${q} | ${ms(stats[i])} | ${cell(cl[i], stats[i])} | ${cell(na[i], stats[i])} | ${ms(lifetime[i])} | ${cell(clAll[i], lifetime[i])} | ${cell(naAll[i], lifetime[i])} |`))
    lines.push('', 'Milliseconds; in brackets, the difference from the /stats figure of the same stretch.')
    const buckets = (await fetch(`${url}/metrics`).then(async (r) => await r.text())).split('\n').filter((l) => l.startsWith(`${NAME}_bucket`)).length
    lines.push('', `Classic buckets: ${buckets} series (with +Inf).`, '')

    // The scrape: ABBA over the formats, client-side time, after the load.
    const times: Record<string, number[]> = {}
    const sizes: Record<string, number> = {}
    const order = Object.keys(FORMATS)
    for (let round = 0; round < SCRAPES; round++) {
      for (const f of round % 2 === 0 ? order : [...order].reverse()) {
        const r = await scrapeOnce(`${url}/metrics`, FORMATS[f] as string)
        ;(times[f] ??= []).push(r.ms)
        sizes[f] = r.bytes
      }
    }
    lines.push('| format | bytes | scrape ms, p50 | p99 |', '|---|---|---|---|')
    for (const f of order) lines.push(`| ${f} | ${sizes[f] as number} | ${ms(median(times[f] as number[]))} | ${ms(quantile(times[f] as number[], 0.99))} |`)
    lines.push('')
  } finally {
    await native.stop()
    await classic.stop()
    await pm.stop()
  }
  return lines
}

async function main (): Promise<void> {
  if (!have('hey') || !have('prometheus')) throw new Error('needs hey and prometheus (Debian packages hey, prometheus)')
  const out = [
    `## Prometheus vs /stats (${new Date().toISOString().slice(0, 10)}, Node ${process.version}, server on CPU ${process.env.BENCH_SERVER_CPU ?? '0'}, hey on CPU ${process.env.BENCH_CLIENT_CPU ?? '1'})`, '',
    ...await workload('Delay mix', '/?delay=1ms:50,5ms:30,20ms:20', { DELAY_MS: '0' }),
    ...await workload('Default workload (DELAY_MS=20)', '/', {})
  ]
  process.stdout.write(out.join('\n') + '\n')
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/prometheus: ${(err as Error).message}\n`)
  process.exitCode = 1
})
