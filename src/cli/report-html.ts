// `podmeter compare --html report.html`: one self-contained file (uPlot and
// its CSS inlined from the npm package, no CDN) with the comparison table
// and two charts: each target's percentile curves of end-to-end latency and
// overhead on log axes, and the distribution of overhead. Curves come from
// each target's rounds added into one histogram (counts add; percentiles
// are never averaged).

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Comparison, Row } from './comparison.js'
import { mergedHistogram, tableOf } from './comparison.js'
import { binned, curve } from '../shared/hdr.js'
import { escapeHtml, htmlTable } from './format.js'

const require = createRequire(import.meta.url)
const asset = (name: string): string => readFileSync(require.resolve(`uplot/dist/${name}`), 'utf8')

/** Percentiles from 0 up to the finest the sample count supports, evenly spaced in "nines". */
function curvePercentiles (maxCount: number): number[] {
  const out: number[] = []
  const top = Math.max(1, Math.log10(Math.max(maxCount, 10)))
  for (let k = 0; k <= top * 40; k++) out.push(100 * (1 - 10 ** (-k / 40)))
  return out
}

/** Log-spaced bucket edges, 10 a decade, on whole µs (the samples are whole µs), covering [low, high]. */
function logEdges (low: number, high: number): number[] {
  const from = Math.floor(Math.log10(Math.max(low, 1)) * 10)
  const to = Math.ceil(Math.log10(Math.max(high, 2)) * 10) + 1
  const edges: number[] = []
  for (let k = from; k <= to; k++) {
    const e = Math.round(10 ** (k / 10))
    if (edges.length === 0 || e > (edges[edges.length - 1] as number)) edges.push(e)
  }
  return edges
}

interface ChartData {
  x: number[]
  targets: Array<{ name: string, e2e: Array<number | null>, overhead: Array<number | null>, share: number[] }>
  bucketsMs: number[]
}

function chartData (c: Comparison): ChartData {
  const merged = c.targets.map((t) => ({ name: t.name, e2e: mergedHistogram(t, 'e2e'), overhead: mergedHistogram(t, 'overhead') }))
  const maxCount = Math.max(...merged.map((m) => m.e2e.totalCount))
  const ps = curvePercentiles(maxCount)
  const toMs = (v: number | null): number | null => (v === null || v <= 0 ? null : v / 1000)
  const withOverhead = merged.filter((m) => m.overhead.totalCount > 0)
  const low = Math.min(...withOverhead.map((m) => m.overhead.minNonZeroValue || 1), Number.MAX_SAFE_INTEGER)
  const high = Math.max(...withOverhead.map((m) => m.overhead.maxValue), 2)
  const edges = withOverhead.length === 0 ? [] : logEdges(low, high)
  return {
    // x is 1 / (1 − p): 2 for p50, 10 for p90, 100 for p99, so "nines" are evenly spaced on a log axis.
    x: ps.map((p) => 1 / (1 - p / 100)),
    bucketsMs: edges.slice(0, -1).map((e, i) => Math.sqrt(e * (edges[i + 1] as number)) / 1000),
    targets: merged.map((m) => {
      const total = m.overhead.totalCount
      return {
        name: m.name,
        e2e: curve(m.e2e, ps).map((v, i) => ((ps[i] as number) > 100 * (1 - 1 / Math.max(m.e2e.totalCount, 1)) ? null : toMs(v))),
        overhead: curve(m.overhead, ps).map((v, i) => ((ps[i] as number) > 100 * (1 - 1 / Math.max(total, 1)) ? null : toMs(v))),
        share: edges.length === 0 ? [] : binned(m.overhead, edges).map((n) => (total > 0 ? Number(((100 * n) / total).toFixed(4)) : 0))
      }
    })
  }
}

const CHARTS = `
const D = JSON.parse(document.getElementById('data').textContent)
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b']
const width = () => Math.min(980, document.body.clientWidth - 32)
const pct = (x) => { if (!(x >= 1)) return ''; const p = 100 * (1 - 1 / x); return (p >= 99 ? p.toFixed(Math.max(0, Math.round(Math.log10(x)) - 2)) : p.toFixed(0)) + '%' }
const nines = (u) => { const out = [2]; for (let x = 10; x <= u.scales.x.max * 1.0001; x *= 10) out.push(x); return out }
const ms = (u, v) => (v == null ? '–' : v.toFixed(3) + ' ms')
const curves = [{ label: 'percentile', value: (u, v) => (v == null ? '' : pct(v)) }]
const curveData = [D.x]
D.targets.forEach((t, i) => {
  curves.push({ label: t.name + ' end to end', stroke: COLORS[i % 6], width: 2, value: ms })
  curveData.push(t.e2e)
  curves.push({ label: t.name + ' overhead', stroke: COLORS[i % 6], width: 1.5, dash: [6, 4], value: ms })
  curveData.push(t.overhead)
})
new uPlot({
  title: 'Latency by percentile (log axes)', width: width(), height: 380,
  scales: { x: { time: false, distr: 3 }, y: { distr: 3 } },
  axes: [{ label: 'percentile', splits: nines, values: (u, vals) => vals.map(pct) }, { label: 'ms', size: 70 }],
  series: curves
}, curveData, document.getElementById('curves'))
if (D.bucketsMs.length > 0) {
  const shares = [{ label: 'overhead', value: ms }]
  const shareData = [D.bucketsMs]
  D.targets.forEach((t, i) => {
    shares.push({ label: t.name, stroke: COLORS[i % 6], fill: COLORS[i % 6] + '22', width: 2, value: (u, v) => (v == null ? '–' : v.toFixed(2) + ' %') })
    shareData.push(t.share)
  })
  new uPlot({
    title: 'Overhead distribution: share of requests per band (end to end − server time)', width: width(), height: 320,
    scales: { x: { time: false, distr: 3 } },
    axes: [{ label: 'overhead, ms (log)' }, { label: '% of requests', size: 60 }],
    series: shares
  }, shareData, document.getElementById('overhead'))
}
`

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 16px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: left; white-space: nowrap; }
td.text, th.text { white-space: normal; min-width: 16em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #555; max-width: 980px; }
`

export function htmlReport (c: Comparison, rows: Row[], _percentiles: readonly number[]): string {
  const { header, cells } = tableOf(c, rows)
  const data = JSON.stringify(chartData(c)).replace(/</g, '\\u003c')
  const title = `PodMeter: ${c.targets.map((t) => t.name).join(' vs ')}`
  const targets = c.targets.map((t) => `<li><b>${escapeHtml(t.name)}</b>: ${escapeHtml(t.url ?? 'from files')}, ${t.rounds.length} round${t.rounds.length === 1 ? '' : 's'}${t.rounds[0] === undefined ? '' : `, ${escapeHtml(t.rounds[0].mode)} loop, ${t.rounds[0].connections} connections`}</li>`)
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${asset('uPlot.min.css')}${STYLE}</style>
</head><body>
<h1>${escapeHtml(title)}</h1>
<p class="note">Made by <code>podmeter compare</code> on ${escapeHtml(c.created_at)}. The first target is the baseline. Overhead is end to end minus the server's own time (its Server-Timing header): the network and proxies in between.</p>
<ul>${targets.join('')}</ul>
<h2>Figures (median of rounds, min–max), latency in ms</h2>
${htmlTable(header, cells, new Set(header.map((h, i) => (String(h).startsWith('verdict') ? i : -1))))}
<p class="note">Verdict: Mann–Whitney's rank-sum test on the per-round figures, significant when p is at most the false-positive rate asked for (default 5 %), with the Hodges–Lehmann interval of the difference; too few rounds to reach that rate give no verdict.</p>
<h2>Percentile curves</h2>
<div id="curves"></div>
<p class="note">Each target's rounds added into one histogram. Solid: end to end; dashed: overhead.</p>
<h2>Overhead distribution</h2>
<div id="overhead"></div>
<script id="data" type="application/json">${data}</script>
<script>${asset('uPlot.iife.min.js')}</script>
<script>${CHARTS}</script>
</body></html>
`
}
