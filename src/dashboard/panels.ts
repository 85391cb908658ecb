// The text parts of the dashboard. Every value is written with textContent
// into elements made here: a header value or pod label such as
// `<img src=x onerror=…>` shows as those characters, never as markup.

import { count, mib, ms, type DebugHeaders, type Stats } from './format.js'

function byId (id: string): HTMLElement {
  const el = document.getElementById(id)
  if (el === null) throw new Error(`the page has no #${id}`)
  return el
}

export function setText (id: string, text: string): void {
  const el = byId(id)
  if (el.textContent !== text) el.textContent = text
}

function cell (text: string, className?: string): HTMLTableCellElement {
  const td = document.createElement('td')
  td.textContent = text
  if (className !== undefined) td.className = className
  return td
}

/** Replaces a tbody's rows with name/value pairs. */
export function setRows (id: string, rows: Array<[string, string]>): void {
  const trs = rows.map(([name, value]) => {
    const tr = document.createElement('tr')
    tr.append(cell(name), cell(value, 'num'))
    return tr
  })
  byId(id).replaceChildren(...trs)
}

export function setList (id: string, items: readonly string[]): void {
  byId(id).replaceChildren(...items.map((text) => {
    const li = document.createElement('li')
    li.textContent = text
    return li
  }))
}

export function setStatus (text: string, state: 'live' | 'down'): void {
  const el = byId('status')
  el.textContent = text
  el.className = `status ${state}`
}

/** Tiles: the last point of the time series, and the mode. */
export function renderTiles (rate: number | null, errorsPerSecond: number | null, p: Array<number | null>, mode: string): void {
  setText('t-rate', count(rate, 1))
  setText('t-p50', ms(p[0]))
  setText('t-p99', ms(p[1]))
  setText('t-p999', ms(p[2]))
  setText('t-errors', count(errorsPerSecond, 1))
  setText('t-mode', mode)
}

export function renderMesh (s: Stats): void {
  setText('mesh-mode', s.service_mesh_mode)
  const flags = [
    s.istio_sidecar_detected ? 'sidecar detected' : '',
    s.waypoint_proxy_detected ? 'waypoint detected' : '',
    s.service_mesh_mode === 'envoy-on-path' ? 'an Envoy on the path, its place unknown' : '',
    `${count(s.requests_via_proxy)} requests via a proxy`,
    `${count(s.requests_with_envoy_headers)} with Envoy-made headers`
  ].filter((f) => f !== '')
  setText('mesh-flags', flags.join(' · '))
  setList('mesh-evidence', s.mesh_evidence)
  setRows('mesh-hops', Object.entries(s.requests_by_hop_count).map(([hops, n]) => [`${hops} hop${hops === '1' ? '' : 's'}`, count(n)]))
}

export function renderTotals (s: Stats): void {
  const codes = s.status_codes
  setRows('totals', [
    ['requests', count(s.requests)],
    ['errors', count(s.errors)],
    ['success rate', s.success_rate_percent === null ? '–' : `${s.success_rate_percent.toFixed(2)} %`],
    ['by status', ['2xx', '3xx', '4xx', '5xx'].map((c) => `${c} ${count(codes[c])}`).join(' · ')],
    ['aborted by the client', count(codes.aborted)],
    ['p50 / p99 / p99.9 since start', [s.p50_latency_ms, s.p99_latency_ms, s.p999_latency_ms].map(ms).join(' / ')],
    ['latency samples (dropped)', `${count(s.samples)} (${count(s.samples_dropped)})`],
    ['uptime', `${count(s.uptime_seconds, 0)} s`]
  ])
}

export function renderMemoryNote (s: Stats): void {
  const sidecar = s.sidecar_memory_mb
  setText('memory-note', [
    `app RSS ${mib(s.memory_sys_mb)}`,
    s.container_memory_working_set_mb === null ? `no container working set (${s.container_memory_note})` : `container working set ${mib(s.container_memory_working_set_mb)}`,
    sidecar === undefined
      ? 'sidecar Envoy: not known here (no sidecar, or its admin does not answer)'
      : `sidecar Envoy: ${mib(sidecar.allocated)} allocated, ${mib(sidecar.heap_size)} heap${sidecar.physical === undefined ? '' : `, ${mib(sidecar.physical)} physical`}`
  ].join(' · '))
}

export function renderHeaders (d: DebugHeaders): void {
  const rows: Array<[string, string]> = Object.entries(d.headers).map(([name, v]) => [name, Array.isArray(v) ? v.join(' | ') : v])
  rows.push(['(from address)', d.remote_address ?? '–'])
  rows.push(['(hops counted)', `${d.hops.proxy_hops} proxy, ${d.hops.mesh_hops} mesh${d.hops.markers.length > 0 ? ': ' + d.hops.markers.join(', ') : ''}`])
  setRows('headers', rows)
}
