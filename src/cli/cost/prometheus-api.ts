// A small client of the Prometheus HTTP API (/api/v1/query and
// /api/v1/query_range), for the cost figures of a run: what the app, the
// sidecar, ztunnel and the waypoint burned over the measured window. It
// speaks node:http through getText (no undici in an open-loop run), sends
// the PromQL as given, and turns every failure into a PrometheusError that
// says which query failed and why: an unreachable server, a status other
// than 200, an answer that is not the API's JSON, or an error the engine
// reported (a bad query). Credentials in the URL are never repeated in a
// message or a result (`redactedUrl`).

import { getText } from '../get-text.js'

/** One series of a range query: its labels and its [unix seconds, value] points, in time order. */
export interface RangeSeries {
  metric: Record<string, string>
  values: Array<[number, number]>
}

/** One series of an instant query. */
export interface InstantSeries {
  metric: Record<string, string>
  value: [number, number]
}

export class PrometheusError extends Error {
  override readonly name = 'PrometheusError'
}

const DEFAULT_TIMEOUT_MS = 10_000

/** `http://user:secret@prom:9090/x?token=y` → `http://prom:9090/x`: what a message or a result may show. */
export function redactedUrl (base: string): string {
  try {
    const url = new URL(base)
    url.username = ''
    url.password = ''
    url.search = ''
    url.hash = ''
    return url.href.replace(/\/$/, '')
  } catch {
    return '(not a URL)'
  }
}

/** The base URL, checked: http or https, no fragment. Throws a PrometheusError for anything else. */
export function prometheusBase (text: string): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new PrometheusError(`${JSON.stringify(text.slice(0, 80))} is not a URL (like http://prometheus:9090)`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new PrometheusError(`${redactedUrl(text)}: a Prometheus URL is http:// or https://`)
  if (url.hash !== '') throw new PrometheusError(`${redactedUrl(text)}: a Prometheus URL has no #fragment`)
  return url
}

function endpoint (base: URL, path: string, params: Record<string, string>): string {
  const url = new URL(base.href)
  url.pathname = url.pathname.replace(/\/$/, '') + path
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
  return url.href
}

/** Number of a sample value: Prometheus sends strings, "NaN" and "+Inf" included. */
function sampleValue (v: unknown): number {
  if (typeof v !== 'string') return Number.NaN
  if (v === '+Inf') return Number.POSITIVE_INFINITY
  if (v === '-Inf') return Number.NEGATIVE_INFINITY
  return Number(v)
}

function point (p: unknown): [number, number] {
  if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'number') throw new PrometheusError('a sample is not [time, "value"]')
  return [p[0], sampleValue(p[1])]
}

function labels (m: unknown): Record<string, string> {
  if (m === null || typeof m !== 'object') throw new PrometheusError('a series has no labels object')
  return m as Record<string, string>
}

async function call (base: URL, path: string, params: Record<string, string>, timeoutMs: number): Promise<{ resultType: string, result: unknown[] }> {
  const where = `${redactedUrl(base.href)}${path}`
  let answer: { status: number, text: string }
  try {
    answer = await getText(endpoint(base, path, params), timeoutMs)
  } catch (err) {
    throw new PrometheusError(`${where}: ${(err as Error).message}`)
  }
  let doc: { status?: unknown, data?: { resultType?: unknown, result?: unknown }, error?: unknown, errorType?: unknown }
  try {
    doc = JSON.parse(answer.text)
  } catch {
    throw new PrometheusError(`${where}: answered ${answer.status} with a body that is not JSON`)
  }
  // `null`, a number or a list parse too, and are not the API's answer.
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new PrometheusError(`${where}: answered ${answer.status} with JSON that is not the API's`)
  if (doc.status !== 'success') {
    const why = typeof doc.error === 'string' ? doc.error.slice(0, 300) : `status ${answer.status}`
    throw new PrometheusError(`${where}: ${typeof doc.errorType === 'string' ? doc.errorType + ': ' : ''}${why} (query: ${params.query?.slice(0, 200) ?? ''})`)
  }
  const data = doc.data
  if (data === undefined || typeof data.resultType !== 'string' || !Array.isArray(data.result)) throw new PrometheusError(`${where}: the answer has no data.result`)
  return { resultType: data.resultType, result: data.result }
}

/** A range query over [start, end] (unix seconds) at `stepS`: every series with its points. */
export async function queryRange (base: URL, query: string, start: number, end: number, stepS: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RangeSeries[]> {
  const data = await call(base, '/api/v1/query_range', { query, start: String(start), end: String(end), step: String(stepS) }, timeoutMs)
  if (data.resultType !== 'matrix') throw new PrometheusError(`a range query answered a ${data.resultType}, not a matrix`)
  return data.result.map((s) => {
    const series = s as { metric?: unknown, values?: unknown }
    if (!Array.isArray(series.values)) throw new PrometheusError('a series has no values')
    return { metric: labels(series.metric), values: series.values.map(point) }
  })
}

/** An instant query at `time` (unix seconds): every series with its one sample. */
export async function queryInstant (base: URL, query: string, time: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<InstantSeries[]> {
  const data = await call(base, '/api/v1/query', { query, time: String(time) }, timeoutMs)
  if (data.resultType !== 'vector') throw new PrometheusError(`an instant query answered a ${data.resultType}, not a vector (use a query that returns series)`)
  return data.result.map((s) => {
    const series = s as { metric?: unknown, value?: unknown }
    return { metric: labels(series.metric), value: point(series.value) }
  })
}
