// The four uPlot charts. uPlot is the global that /dashboard/uplot.js (its
// IIFE build, served from node_modules) defines before this module runs.

import { ms, msTick, spectrumLabel } from './format.js'

const HEIGHT = 240
const COLORS = ['#1f6feb', '#d97706', '#c62828', '#6b7280']

export interface Charts {
  rate: uPlot
  latency: uPlot
  spectrum: uPlot
  memory: uPlot
}

function byId (id: string): HTMLElement {
  const el = document.getElementById(id)
  if (el === null) throw new Error(`the page has no #${id}`)
  return el
}

function line (label: string, i: number, extra: Partial<uPlot.Series> = {}): uPlot.Series {
  return { label, stroke: COLORS[i % COLORS.length] as string, width: 1.5, spanGaps: false, ...extra }
}

// A log scale needs a positive range even before there is data.
const logRange: uPlot.Scale.Range = (_u, min, max) =>
  min === null || max === null || !(min > 0) ? [0.01, 100] : uPlot.rangeLog(min, max, 10, true)

/** Only the powers of ten of a log axis: 1 µs, 10 µs, … are enough labels. */
const decades = (_u: uPlot, _axis: number, min: number, max: number): number[] => {
  const out: number[] = []
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    const v = 10 ** e
    if (v >= min * 0.999 && v <= max * 1.001) out.push(v)
  }
  return out
}

// The IIFE build has the stepped path builder; a build without it draws lines.
function stepped (): Partial<uPlot.Series> {
  const builder = uPlot.paths.stepped?.({ align: 1 })
  return builder === undefined ? {} : { paths: builder }
}

// Whole seconds at most, as a wall clock: a young series gets no ":02.500" ticks.
const timeAxis: uPlot.Axis = {
  incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300],
  values: (_u, splits) => splits.map((t) => new Date(t * 1000).toLocaleTimeString([], { hour12: false }))
}

// uPlot hands a log axis's values() null for the splits it leaves unlabelled
// when they are too close together: those get no label, not "0 µs".
const labels = (format: (v: number) => string) => (_u: uPlot, splits: Array<number | null>): string[] =>
  splits.map((v) => (v === null || v === undefined ? '' : format(v)))

const msAxis: uPlot.Axis = { size: 60, splits: decades, values: labels(msTick) }

// uPlot's own name is lower case; a constructor reads better capitalised.
const UPlot = uPlot

function make (id: string, opts: Omit<uPlot.Options, 'width' | 'height'>, data: uPlot.AlignedData): uPlot {
  const target = byId(id)
  const chart = new UPlot({ width: Math.max(target.clientWidth, 300), height: HEIGHT, ...opts }, data, target)
  new ResizeObserver(() => { chart.setSize({ width: Math.max(target.clientWidth, 300), height: HEIGHT }) }).observe(target)
  return chart
}

export function createCharts (): Charts {
  const rate = make('chart-rate', {
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max ?? 1) * 1.1] }, err: { range: (_u, _min, max) => [0, Math.max(1, max ?? 1) * 1.1] } },
    series: [{}, line('requests/s', 0, { value: (_u, v) => (v === null ? '–' : v.toFixed(1)) }), line('errors/s', 2, { scale: 'err', value: (_u, v) => (v === null ? '–' : v.toFixed(1)) })],
    axes: [timeAxis, { size: 60 }, { scale: 'err', side: 1, size: 50, grid: { show: false }, stroke: COLORS[2] as string }]
  }, [[], [], []])

  const latency = make('chart-latency', {
    scales: { x: { time: true }, y: { distr: 3, log: 10, range: logRange } },
    series: [{}, ...['p50', 'p99', 'p99.9'].map((p, i) => line(p, i, { value: (_u: uPlot, v: number | null) => ms(v) }))],
    axes: [timeAxis, msAxis]
  }, [[], [], [], []])

  const spectrum = make('chart-spectrum', {
    scales: { x: { time: false, distr: 3, log: 10, range: (_u, _min, max) => [1, Math.max(100, 10 ** Math.ceil(Math.log10(max ?? 100)))] }, y: { distr: 3, log: 10, range: logRange } },
    series: [
      { label: 'percentile', value: (_u, v) => (v === null ? '–' : spectrumLabel(v)) },
      line('latency', 0, { value: (_u: uPlot, v: number | null) => ms(v), ...stepped() })
    ],
    axes: [{ splits: decades, values: labels(spectrumLabel), label: 'percentile' }, msAxis],
    cursor: { drag: { x: false, y: false } }
  }, [[], []])

  const memory = make('chart-memory', {
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(16, max ?? 16) * 1.15] } },
    series: [{}, line('app RSS', 0), line('container working set', 1), line('sidecar Envoy', 3)]
      .map((s, i) => (i === 0 ? s : { ...s, value: (_u: uPlot, v: number | null) => (v === null ? '–' : `${v.toFixed(1)} MiB`) })),
    axes: [timeAxis, { size: 60 }]
  }, [[], [], [], []])

  return { rate, latency, spectrum, memory }
}
