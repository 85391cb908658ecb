// The dashboard's poll loop: once a second it reads /stats (with the
// percentiles of the last 1–2 s) and /stats/histogram, and every ten seconds
// /debug/headers; at most one round is in flight, and none while the tab is
// hidden. Both endpoints are the server's slow path, so the page costs the
// requests it measures nothing but a share of one core at 1 Hz.
//
// window.__podmeter is a small hook for tests and the curious: the charts
// (their .data), the number of rounds drawn and the last failures.

import { createCharts, type Charts } from './charts.js'
import { spectrumX, type DebugHeaders, type Histogram, type Stats } from './format.js'
import { renderHeaders, renderMemoryNote, renderMesh, renderTiles, renderTotals, setStatus, setText } from './panels.js'

const INTERVAL_MS = 1000
const KEEP_POINTS = 300
const HEADERS_EVERY = 10
const TIMEOUT_MS = 5000

interface Hook { updates: number, failures: string[], charts: Charts | undefined, range: 'lifetime' | 'window' }

declare global {
  interface Window { __podmeter: Hook }
}

const hook: Hook = { updates: 0, failures: [], charts: undefined, range: 'lifetime' }
window.__podmeter = hook

/** A rolling time series: one x column and a column per line, at most KEEP_POINTS long. */
class Series {
  readonly columns: Array<Array<number | null>>

  constructor (lines: number) {
    this.columns = Array.from({ length: lines + 1 }, () => [])
  }

  push (x: number, values: Array<number | null>): uPlot.AlignedData {
    this.columns[0]?.push(x)
    values.forEach((v, i) => this.columns[i + 1]?.push(v))
    if ((this.columns[0]?.length ?? 0) > KEEP_POINTS) for (const c of this.columns) c.shift()
    return this.columns as uPlot.AlignedData
  }
}

async function getJson<T> (path: string): Promise<T> {
  const res = await fetch(path, { cache: 'no-store', headers: { accept: 'application/json' }, signal: AbortSignal.timeout(TIMEOUT_MS) })
  if (!res.ok) {
    let why = `${res.status}`
    try {
      const body = await res.json() as { error?: { code?: string, message?: string } }
      why += ` ${body.error?.code ?? ''}: ${body.error?.message ?? ''}`
    } catch {}
    throw new Error(`${path.replace(/\?.*/, '')} answered ${why}`)
  }
  return await res.json() as T
}

const rate = new Series(2)
const latency = new Series(3)
const memory = new Series(3)
let previous: Stats | undefined
let windowSeconds = 1
let round = 0

function perSecond (now: Stats, key: 'requests' | 'errors'): number | null {
  const before = previous
  if (before === undefined || now[key] < before[key] || now.requests < before.requests) return null
  // uptime_ms: uptime_seconds is whole seconds (the original's int64), too coarse for a rate.
  const dt = (now.uptime_ms - before.uptime_ms) / 1000
  return dt > 0 ? (now[key] - before[key]) / dt : null
}

function spectrum (h: Histogram): uPlot.AlignedData {
  const xs: number[] = []
  const ys: number[] = []
  const first = h.distribution[0]
  if (first !== undefined && h.min_us !== null) { xs.push(1); ys.push(h.min_us / 1000) }
  for (const row of h.distribution) {
    xs.push(spectrumX(row.percentile, h.count))
    ys.push(row.to_us / 1000)
  }
  return [xs, ys]
}

function histogramPath (): string {
  return hook.range === 'lifetime' ? 'stats/histogram' : `stats/histogram?window=${windowSeconds}`
}

async function update (charts: Charts): Promise<void> {
  const withHeaders = round % HEADERS_EVERY === 0
  const [s, h, d] = await Promise.all([
    getJson<Stats>('stats?percentiles=50,99,99.9&window=1'),
    getJson<Histogram>(histogramPath()),
    withHeaders ? getJson<DebugHeaders>('debug/headers') : undefined
  ])
  round++
  const x = Date.now() / 1000
  const rps = perSecond(s, 'requests')
  const eps = perSecond(s, 'errors')
  const p = s.percentiles ?? {}
  const ps = [p.p50 ?? null, p.p99 ?? null, p.p99_9 ?? null]
  const sidecar = s.sidecar_memory_mb
  previous = s
  windowSeconds = Math.max(1, Math.floor(s.window.seconds))

  charts.rate.setData(rate.push(x, [rps, eps]))
  charts.latency.setData(latency.push(x, ps))
  charts.memory.setData(memory.push(x, [s.memory_sys_mb, s.container_memory_working_set_mb, sidecar === undefined ? null : sidecar.physical ?? sidecar.heap_size]))
  charts.spectrum.setData(spectrum(h))

  document.title = `PodMeter · ${s.hostname}`
  setText('host', s.hostname)
  renderTiles(rps, eps, ps, s.service_mesh_mode)
  renderMesh(s)
  renderTotals(s)
  renderMemoryNote(s)
  setText('spectrum-note', `${h.count.toLocaleString('en-US')} samples ${h.window === 'lifetime' ? 'since start or reset' : `in the last ${String(h.window)} s`}; each step is one histogram bucket (within 0.1 %).`)
  if (d !== undefined) renderHeaders(d)
  setStatus(`live · ${new Date().toLocaleTimeString()}`, 'live')
  hook.updates++
}

function rangeButtons (): void {
  const buttons = { lifetime: document.getElementById('range-lifetime'), window: document.getElementById('range-window') }
  for (const [range, button] of Object.entries(buttons) as Array<['lifetime' | 'window', HTMLElement | null]>) {
    button?.addEventListener('click', () => {
      hook.range = range
      buttons.lifetime?.classList.toggle('on', range === 'lifetime')
      buttons.window?.classList.toggle('on', range === 'window')
    })
  }
}

async function main (): Promise<void> {
  const charts = createCharts()
  hook.charts = charts
  rangeButtons()
  for (;;) {
    const started = performance.now()
    if (!document.hidden) {
      try {
        await update(charts)
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err)
        hook.failures = [...hook.failures.slice(-9), message]
        setStatus(`disconnected: ${message}; retrying`, 'down')
      }
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, INTERVAL_MS - (performance.now() - started))))
  }
}

main().catch((err: unknown) => { console.error(err) })
