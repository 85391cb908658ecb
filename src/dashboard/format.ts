// Number formatting for the dashboard, and the shapes of the JSON it reads.

/** The keys of /stats the dashboard reads (README "GET /stats"). */
export interface Stats {
  requests: number
  errors: number
  /** Whole seconds. */
  uptime_seconds: number
  uptime_ms: number
  hostname: string
  success_rate_percent: number | null
  p50_latency_ms: number | null
  p99_latency_ms: number | null
  p999_latency_ms: number | null
  samples: number
  samples_dropped: number
  memory_sys_mb: number
  container_memory_working_set_mb: number | null
  container_memory_note: string
  sidecar_memory_mb?: { allocated: number, heap_size: number, physical?: number }
  service_mesh_mode: string
  mesh_evidence: string[]
  istio_sidecar_detected: boolean
  waypoint_proxy_detected: boolean
  requests_via_proxy: number
  requests_with_envoy_headers: number
  requests_by_hop_count: Record<string, number>
  status_codes: Record<string, number>
  window: { seconds: number }
  percentiles?: Record<string, number | null>
  percentiles_samples?: number
}

export interface HistogramRow { from_us: number, to_us: number, count: number, percentile: number }

export interface Histogram {
  window: string | number
  count: number
  min_us: number | null
  max_us: number | null
  distribution: HistogramRow[]
}

export interface DebugHeaders {
  remote_address: string | null
  headers: Record<string, string | string[]>
  hops: { proxy_hops: number, mesh_hops: number, markers: string[] }
}

/** A latency in ms, as µs below 1 ms. */
export function ms (v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–'
  if (v < 1) return `${Math.round(v * 1000)} µs`
  if (v < 10) return `${v.toFixed(3)} ms`
  if (v < 1000) return `${v.toFixed(1)} ms`
  return `${(v / 1000).toFixed(2)} s`
}

/** An axis label for a power of ten in ms: 10 µs, 1 ms, 1 s. */
export function msTick (v: number): string {
  if (v < 1) return `${Number((v * 1000).toPrecision(3))} µs`
  if (v < 1000) return `${Number(v.toPrecision(3))} ms`
  return `${Number((v / 1000).toPrecision(3))} s`
}

export function count (v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–'
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })
}

export function mib (v: number | null | undefined): string {
  return v === null || v === undefined ? '–' : `${v.toFixed(1)} MiB`
}

/** The percentile spectrum's x: 1 / (1 − q), so that 90 %, 99 %, 99.9 % are equally spaced on a log axis. */
export function spectrumX (percentile: number, samples: number): number {
  const tail = Math.max(1 - percentile / 100, 1 / Math.max(samples, 1))
  return 1 / tail
}

/** The percentile an x of the spectrum stands for: 10 → 90 %, 1000 → 99.9 %. */
export function spectrumLabel (x: number): string {
  const p = 100 * (1 - 1 / x)
  return `${Number(p.toPrecision(6))}%`
}
