// The HTTP server. The hot path is `GET /`: onRequest → root → reply, and
// onFinish when the response is written. Per measured request it does a
// performance.now() pair, one pass over the raw headers, a few Atomics.add on
// the shared counters and one ring push: no lock, no message to a worker,
// nothing allocated beyond what node:http itself does and the Server-Timing
// string. Everything else is the slow path and may take its time.

import http, { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http'
import { ApiError } from '../shared/errors.js'
import { add, C, inc, STATUS_MIN, zeroMainThreadCounters, type Views } from '../shared/layout.js'
import type { RingProducer } from '../shared/ring.js'
import { dashboardRoutes } from './dashboard.js'
import { debugHeaders, F, PROBE, meshHops, proxyHops, scanHeaders } from './headers.js'
import type { AdminGate } from './admin.js'
import { ConnectionGuard } from './connection-guard.js'
import { faultRoutes } from './faults.js'
import type { HistogramPool } from './pool.js'
import { pick, RootQueryParser, type RootSpec } from './query.js'
import { MetricsExporter } from './metrics.js'
import { buildStats, STATS_PERCENTILES, type StatsContext } from './stats.js'
import { parseStatsQuery } from './stats-query.js'
import { sendError, sendJson, sendText } from './reply.js'

/** One listener's shared memory: its counters and the producing end of its ring. */
export interface Meter {
  views: Views
  ring: RingProducer
}

/**
 * One listener's server. A process with a baseline listener makes two, each
 * with its own Meter: the hot path below closes over its listener's counters
 * and ring, so it never asks per request which listener it serves.
 */
export interface ServerParts extends Meter {
  /** Every listener of the process, main first, this one included: a reset zeroes them all. */
  listeners: Meter[]
  pool: HistogramPool
  stats: Omit<StatsContext, 'workerThreads'>
  delayUs: number
  maxDelayUs: number
  /** `le` boundaries of the /metrics latency histogram, whole µs, ascending. */
  metricsBucketsUs: readonly number[]
  /** Called after counters and histograms are zeroed (every listener's connection figures too). */
  onReset: () => void
  /** node:http's limits, in ms (see config.ts for why each default). */
  limits: { headersTimeoutMs: number, requestTimeoutMs: number, keepAliveTimeoutMs: number, maxConnections: number }
  admin: AdminGate
  /** PODMETER_FAULTS: adds POST /debug/worker/crash. */
  faults: boolean
}

// Bodies and their lengths by status, built once: `OK\n` for 200, the reason phrase otherwise.
const BODY: string[] = []
const LENGTH: string[] = []
for (let s = 200; s <= 599; s++) {
  const body = s === 200 ? 'OK\n' : `${STATUS_CODES[s] ?? 'Status ' + String(s)}\n`
  BODY[s] = body
  LENGTH[s] = String(Buffer.byteLength(body))
}

// The Server-Timing value, `app;dur=<ms with µs resolution>`. Building it per
// request (toFixed, then node's header check on the fresh string) cost about
// 3 % of throughput, so the values under 16 ms are made once, on first use:
// at most 16384 short strings.
const FRACTION = Array.from({ length: 1000 }, (_, i) => '.' + String(i).padStart(3, '0'))
const TIMING_CACHED = 16384
const TIMING: string[] = []
export function serverTiming (us: number): string {
  if (us < TIMING_CACHED) return TIMING[us] ?? (TIMING[us] = formatTiming(us))
  return formatTiming(us)
}
function formatTiming (us: number): string {
  return 'app;dur=' + String(Math.floor(us / 1000)) + (FRACTION[us % 1000] as string)
}

/** `http://host:port/path?q` → `/path?q`; undefined for anything else. */
export function originForm (url: string): string | undefined {
  const m = /^https?:\/\/[^/?#]*(.*)$/i.exec(url)
  if (m === null) return undefined
  const rest = m[1] as string
  return rest.charCodeAt(0) === 47 ? rest : '/' + rest
}

export interface MeterServer {
  server: http.Server
  /** From now on every response says Connection: close, and /readyz fails. */
  drainConnections: () => void
  /** Zeroes this listener's connection figures (open connections stay counted). */
  resetConnections: () => void
  readonly shuttingDown: boolean
}

export function createMeterServer (parts: ServerParts): MeterServer {
  const { views, ring, pool } = parts
  const counters = views.counters
  const highWater = ring.capacity >>> 2
  const parser = new RootQueryParser(parts.delayUs, parts.maxDelayUs)
  const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, maxConnections } = parts.limits
  const server = http.createServer({
    headersTimeout: headersTimeoutMs,
    requestTimeout: requestTimeoutMs,
    // Node looks for late headers every 30 s by default: a slowloris would
    // hold its connection that much past the timeout.
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headersTimeoutMs / 10))),
    // Checked in onRequest instead, to answer with a JSON error like every other one.
    requireHostHeader: false
  }, onRequest)
  server.keepAliveTimeout = keepAliveTimeoutMs
  const guard = new ConnectionGuard(server, maxConnections, (path) => {
    if (path === '/') return 'GET, HEAD'
    const route = ROUTES[path]
    return route === undefined ? undefined : Object.keys(route).join(', ')
  })
  const metrics = new MetricsExporter({ stats: parts.stats, pool, bucketsUs: parts.metricsBucketsUs, connections: () => guard.figures() })
  let shuttingDown = false

  function record (status: number, us: number, scan: number): void {
    inc(counters, C.REQUESTS)
    inc(counters, C.STATUS + status - STATUS_MIN)
    if (status >= 400) inc(counters, C.ERRORS)
    countHops(scan)
    if (ring.push(us) > highWater) pool.drainSoon()
  }

  // The header flags are only counted here; the mesh detector reads the
  // counters on its own timer (rule 4: Envoy-made headers mean a waypoint).
  function countHops (scan: number): void {
    if ((scan & F.TRACING) !== 0) inc(counters, C.TRACED)
    const proxy = proxyHops(scan)
    const mesh = meshHops(scan)
    const total = proxy + mesh
    inc(counters, C.HOPS_BY_COUNT + (total < 4 ? total : 4))
    if (total === 0) return
    inc(counters, C.VIA_PROXY)
    if ((scan & F.ENVOY_MADE) !== 0) inc(counters, C.ENVOY_MADE)
    if (proxy > 0) add(counters, C.PROXY_HOPS, proxy)
    if (mesh > 0) add(counters, C.MESH_HOPS, mesh)
  }

  // One headers array for every response: writeHead() copies it out before it
  // returns, so filling in two slots beats allocating a new array per request.
  const HEADERS = ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', '', 'Server-Timing', '']
  const CLOSING = [...HEADERS, 'Connection', 'close']

  // Service time runs from the `request` event until res.end() has handed the
  // response to the socket (node writes it to the kernel there and then unless
  // the socket is backed up). Server-Timing must be written before that, so it
  // carries the same clock up to the headers: it is shorter than the recorded
  // sample by node's serialisation and write, a few µs.
  function respond (res: ServerResponse, status: number, t0: number, scan: number): void {
    const headers = shuttingDown ? CLOSING : HEADERS
    headers[3] = LENGTH[status] as string
    headers[5] = serverTiming(Math.round((performance.now() - t0) * 1000))
    res.writeHead(status, headers)
    res.end(BODY[status])
    if (scan !== PROBE) record(status, Math.round((performance.now() - t0) * 1000), scan)
  }

  /**
   * A request answered after a delay. Node's timers have 1 ms resolution, so a
   * sub-millisecond delay is waited out by yielding to the event loop until it
   * is due: other requests run meanwhile, and it never spins longer than 1 ms.
   * A client that goes away first is counted as aborted and its timer cancelled,
   * so nothing is left in flight.
   */
  class Delayed {
    readonly res: ServerResponse
    readonly status: number
    readonly t0: number
    readonly scan: number
    readonly dueAt: number
    wait: NodeJS.Timeout | NodeJS.Immediate | undefined
    done = false

    constructor (res: ServerResponse, status: number, t0: number, scan: number, delayUs: number) {
      this.res = res
      this.status = status
      this.t0 = t0
      this.scan = scan
      this.dueAt = t0 + delayUs / 1000
      this.wait = delayUs >= 1000 ? setTimeout(fire, delayUs / 1000, this) : setImmediate(fire, this)
      res.once('close', () => this.closed())
    }

    closed (): void {
      if (this.done) return
      this.done = true
      clearTimeout(this.wait as NodeJS.Timeout)
      clearImmediate(this.wait as NodeJS.Immediate)
      if (this.scan === PROBE) return
      inc(counters, C.REQUESTS)
      inc(counters, C.ERRORS)
      inc(counters, C.ABORTED)
      countHops(this.scan)
    }
  }

  function fire (d: Delayed): void {
    if (d.done) return
    if (performance.now() < d.dueAt) { d.wait = setImmediate(fire, d); return }
    d.done = true
    respond(d.res, d.status, d.t0, d.scan)
  }

  function root (req: IncomingMessage, res: ServerResponse, t0: number, spec: RootSpec): void {
    const scan = scanHeaders(req.rawHeaders)
    if (scan === PROBE) inc(counters, C.UNMEASURED)
    else if ((scan & F.HOST) === 0 && req.httpVersionMinor === 1) return missingHost(res)
    const method = req.method
    if (method !== 'GET' && method !== 'HEAD') {
      if (scan !== PROBE) inc(counters, C.UNMEASURED)
      return sendError(res, new ApiError('METHOD_NOT_ALLOWED', `${method ?? ''} is not allowed on /: use GET or HEAD`), { allow: 'GET, HEAD' })
    }
    const status = pick(spec.status)
    const delayUs = pick(spec.delay)
    if (delayUs === 0) respond(res, status, t0, scan)
    else new Delayed(res, status, t0, scan, delayUs) // eslint-disable-line no-new
  }

  function onRequest (req: IncomingMessage, res: ServerResponse): void {
    const t0 = performance.now()
    const url = req.url as string
    // Node's own Host check (requireHostHeader, turned off) builds
    // req.headers for every request; `/` finds Host in its one pass over the
    // raw headers instead, and answers a missing one with a JSON body.
    if (url === '/') return root(req, res, t0, parser.plain)
    if (url.charCodeAt(0) === 47 && url.charCodeAt(1) === 63) { // "/?"
      const spec = parser.parse(url)
      if (!(spec instanceof ApiError)) return root(req, res, t0, spec)
      if (noHost(req)) return missingHost(res)
      inc(counters, C.UNMEASURED)
      return sendError(res, spec)
    }
    // The absolute form (`GET http://host/stats`), which RFC 9112 3.2.2 says
    // a server must accept: what a client configured to use a proxy sends.
    const path = url.charCodeAt(0) === 47 ? undefined : originForm(url)
    if (path !== undefined) {
      req.url = path
      return onRequest(req, res)
    }
    if (noHost(req)) return missingHost(res)
    inc(counters, C.UNMEASURED)
    slowPath(req, res, url)
  }

  function noHost (req: IncomingMessage): boolean {
    return req.httpVersionMinor === 1 && req.headers.host === undefined
  }

  function missingHost (res: ServerResponse): void {
    inc(counters, C.UNMEASURED)
    sendError(res, new ApiError('BAD_REQUEST', 'an HTTP/1.1 request needs a Host header (RFC 9112, 3.2)'), { connection: 'close' })
  }

  function slowPath (req: IncomingMessage, res: ServerResponse, url: string): void {
    if (shuttingDown) res.setHeader('connection', 'close')
    const q = url.indexOf('?')
    const path = q < 0 ? url : url.slice(0, q)
    const method = req.method ?? ''
    const route = ROUTES[path]
    if (route === undefined) {
      return sendError(res, new ApiError('NOT_FOUND', `no endpoint at ${JSON.stringify(path.slice(0, 200))}; try /, /stats, /stats/histogram, /metrics, /dashboard, /debug/headers, /livez or /readyz`))
    }
    const handler = route[method] ?? (method === 'HEAD' ? route.GET : undefined)
    if (handler === undefined) {
      const allow = Object.keys(route).join(', ')
      return sendError(res, new ApiError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}: use ${allow}`), { allow })
    }
    handler(req, res)
  }

  function fail (res: ServerResponse, err: unknown): void {
    if (res.headersSent) { res.destroy(); return }
    sendError(res, err instanceof ApiError ? err : new ApiError('STATS_UNAVAILABLE', (err as Error).message))
  }

  type Handler = (req: IncomingMessage, res: ServerResponse) => void
  const ROUTES: Record<string, Record<string, Handler>> = {
    '/stats': {
      GET: (req, res) => {
        const q = parseStatsQuery(req.url as string, parts.stats.windowSeconds)
        if (q instanceof ApiError) return sendError(res, q)
        const extra = q.percentiles === undefined ? undefined : { range: q.range, percentiles: q.percentiles }
        const scan = scanHeaders(req.rawHeaders)
        pool.snapshot(STATS_PERCENTILES, extra).then(
          (snap) => sendJson(res, 200, buildStats({ ...parts.stats, workerThreads: pool.threads, connections: guard.figures() }, snap, scan, q.percentiles, q.range)),
          (err) => fail(res, err)
        )
      }
    },
    '/stats/histogram': {
      GET: (req, res) => {
        const q = parseStatsQuery(req.url as string, parts.stats.windowSeconds)
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
        metrics.render(req.headers.accept).then(
          (m) => sendText(res, 200, m.contentType, m.body),
          (err) => fail(res, err)
        )
      }
    },
    '/stats/reset': {
      POST: (req, res) => {
        const refused = parts.admin.reset(req)
        if (refused !== undefined) return sendError(res, refused.error, refused.headers)
        // Zero the counters, then have the worker discard exactly the samples
        // pushed before this point: both happen before any later request on
        // this (single) thread can push, so counters and histograms agree.
        for (const l of parts.listeners) zeroMainThreadCounters(l.views.counters)
        parts.onReset()
        pool.reset(parts.listeners.map((l) => l.ring.writeSequence)).then(
          () => sendJson(res, 200, { reset: true }),
          (err) => fail(res, err)
        )
      }
    },
    '/debug/headers': { GET: (req, res) => sendJson(res, 200, debugHeaders(req)) },
    '/livez': { GET: (_req, res) => sendJson(res, 200, { status: 'ok' }) },
    '/healthz': { GET: (_req, res) => sendJson(res, 200, { status: 'ok' }) },
    '/readyz': {
      GET: (_req, res) => {
        if (shuttingDown) return sendError(res, new ApiError('SHUTTING_DOWN'))
        if (!pool.ready) return sendError(res, new ApiError('NOT_READY'))
        sendJson(res, 200, { status: 'ready' })
      }
    },
    ...(parts.faults ? faultRoutes(pool, parts.admin) : {}),
    ...dashboardRoutes(sendError)
  }

  return {
    server,
    drainConnections: () => { shuttingDown = true },
    resetConnections: () => guard.reset(),
    get shuttingDown () { return shuttingDown }
  }
}
