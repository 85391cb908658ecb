// Everything but `GET /`: the slow path. Each endpoint is a handler in a
// path → method table; dispatch() answers 404 for an unknown path and 405
// (with Allow) for a method the path does not take. Handlers may take their
// time: /stats, /stats/histogram and /metrics wait for the worker's answer.

import type { IncomingMessage, ServerResponse } from 'node:http'
import { ApiError } from '../shared/errors.js'
import type { AdminGate } from './admin.js'
import type { ConnectionFigures } from './connection-guard.js'
import { dashboardRoutes } from './dashboard.js'
import { faultRoutes } from './faults.js'
import { debugHeaders, scanHeaders } from './headers.js'
import type { MetricsExporter } from './metrics.js'
import type { HistogramPool } from './pool.js'
import { type Routes, sendError, sendJson, sendText } from './reply.js'
import { afterBody } from './whole-body.js'
import { buildStats, STATS_PERCENTILES, type StatsContext } from './stats.js'
import { parseStatsQuery } from './stats-query.js'

export interface RouteContext {
  pool: HistogramPool
  stats: Omit<StatsContext, 'workerThreads'>
  /**
   * Zeroes the counters of every listener and every HTTP thread, each thread
   * its own between two of its requests (server.ts, resetCounters); resolves
   * once all have, and the histograms are still to be emptied.
   */
  resetCounters: () => Promise<void>
  admin: AdminGate
  /** PODMETER_FAULTS: adds POST /debug/worker/crash. */
  faults: boolean
  /** `le` boundaries of the /metrics latency histogram, whole µs, ascending. */
  metricsBucketsUs: readonly number[]
  /** Schema of its native buckets (METRICS_NATIVE_SCHEMA). */
  metricsNativeSchema: number
  metricsProtobuf: boolean
  /** This listener's open and refused connections. */
  connections: () => ConnectionFigures
  shuttingDown: () => boolean
}

/** Answers a slow-path request from `routes`; `path` is the URL without its query. */
export function dispatch (routes: Routes, req: IncomingMessage, res: ServerResponse, path: string): void {
  const route = Object.hasOwn(routes, path) ? routes[path] : undefined
  if (route === undefined) {
    return sendError(res, new ApiError('NOT_FOUND', `no endpoint at ${JSON.stringify(path.slice(0, 200))}; try /, /stats, /stats/histogram, /metrics, /dashboard, /debug/headers, /livez or /readyz`))
  }
  const method = req.method ?? ''
  const own = Object.hasOwn(route, method) ? route[method] : undefined
  const handler = own ?? (method === 'HEAD' ? route.GET : undefined)
  if (handler === undefined) {
    const allow = allowed(route)
    return sendError(res, new ApiError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}: use ${allow}`), { allow })
  }
  handler(req, res)
}

/** The Allow header of a route. */
export function allowed (route: Routes[string]): string {
  return Object.keys(route).join(', ')
}

/** A request the worker could not answer: 503 with the reason, or a cut connection once the head is out. */
function fail (res: ServerResponse, err: unknown): void {
  if (res.headersSent) { res.destroy(); return }
  sendError(res, err instanceof ApiError ? err : new ApiError('STATS_UNAVAILABLE', (err as Error).message))
}

export function createRoutes (ctx: RouteContext): Routes {
  const { pool, stats } = ctx
  // prom-client and the exporter load on the first scrape (metrics.ts). The
  // promise is set before anything awaits, so concurrent first scrapes share
  // one exporter and its registries; a failed load is tried again next time.
  let exporter: Promise<MetricsExporter> | undefined
  const metrics = async (): Promise<MetricsExporter> => await (exporter ??= import('./metrics.js').then(
    (m) => new m.MetricsExporter({ stats, pool, bucketsUs: ctx.metricsBucketsUs, nativeSchema: ctx.metricsNativeSchema, protobuf: ctx.metricsProtobuf, connections: ctx.connections }),
    (err: unknown) => { exporter = undefined; throw err }
  ))
  return {
    '/stats': {
      GET: (req, res) => {
        const q = parseStatsQuery(req.url as string, stats.windowSeconds)
        if (q instanceof ApiError) return sendError(res, q)
        const extra = q.percentiles === undefined ? undefined : { range: q.range, percentiles: q.percentiles }
        const scan = scanHeaders(req.rawHeaders)
        pool.snapshot(STATS_PERCENTILES, extra).then(
          (snap) => sendJson(res, 200, {
            ...buildStats({ ...stats, workerThreads: pool.threads, connections: ctx.connections() }, snap, scan, q.percentiles, q.range),
            // The counters are always live; the latency figures (percentiles,
            // samples, window) are the worker's last answer when it cannot answer now.
            stale: snap.staleMs !== undefined,
            stale_age_ms: snap.staleMs === undefined ? null : Math.round(snap.staleMs)
          }),
          (err) => fail(res, err)
        )
      }
    },
    '/stats/histogram': {
      GET: (req, res) => {
        const q = parseStatsQuery(req.url as string, stats.windowSeconds)
        if (q instanceof ApiError) return sendError(res, q)
        pool.histogram(q.range, q.format).then((h) => {
          if (h.hgrm !== undefined) return sendText(res, 200, 'text/plain; charset=utf-8', h.hgrm)
          sendJson(res, 200, {
            window: q.range,
            unit: 'us',
            count: h.count,
            min_us: h.minUs,
            max_us: h.maxUs,
            mean_us: h.meanUs === null ? null : Number(h.meanUs.toFixed(3)),
            hdr: h.hdr,
            distribution: h.distribution
          })
        }, (err) => fail(res, err))
      }
    },
    '/metrics': {
      GET: (req, res) => {
        metrics().then(async (m) => await m.render(req.headers.accept)).then(
          // The format follows Accept: a cache between scraper and pod must not mix them.
          (m) => sendText(res, 200, m.contentType, m.body, { vary: 'accept' }),
          (err) => fail(res, err)
        )
      }
    },
    '/stats/reset': {
      POST: (req, res) => {
        const refused = ctx.admin.reset(req)
        if (refused !== undefined) return sendError(res, refused.error, refused.headers)
        afterBody(req, () => {
          // Every thread zeroes its counters and fences its ring; then the
          // worker discards exactly the samples before each fence, so
          // counters and histograms agree however many threads serve.
          ctx.resetCounters().then(async () => await pool.reset()).then(
            () => sendJson(res, 200, { reset: true }),
            (err) => fail(res, err)
          )
        })
      }
    },
    '/debug/headers': { GET: (req, res) => sendJson(res, 200, debugHeaders(req)) },
    '/livez': { GET: (_req, res) => sendJson(res, 200, { status: 'ok' }) },
    '/healthz': { GET: (_req, res) => sendJson(res, 200, { status: 'ok' }) },
    '/readyz': {
      GET: (_req, res) => {
        if (ctx.shuttingDown()) return sendError(res, new ApiError('SHUTTING_DOWN'))
        if (!pool.ready) return sendError(res, new ApiError('NOT_READY'))
        sendJson(res, 200, { status: 'ready' })
      }
    },
    ...(ctx.faults ? faultRoutes(pool, ctx.admin) : {}),
    ...dashboardRoutes(sendError)
  }
}
