// The HTTP server. The hot path is `GET /`: onRequest → root → reply, and
// onFinish when the response is written. Per measured request it does a
// performance.now() pair, one pass over the raw headers, a few Atomics.add on
// the shared counters and one ring push: no lock, no message to a worker,
// nothing allocated beyond what node:http itself does and the Server-Timing
// string. Everything else is the slow path and may take its time.

import http, { type IncomingMessage, ServerResponse, STATUS_CODES } from 'node:http'
import { ApiError } from '../shared/errors.js'
import { C, type Views } from '../shared/layout.js'
import type { RingProducer } from '../shared/ring.js'
import { PROBE, meshHops, proxyHops, scanHeaders } from './headers.js'
import type { HistogramPool } from './pool.js'
import { pick, RootQueryParser, type RootSpec } from './query.js'
import { buildStats, STATS_PERCENTILES, type StatsContext } from './stats.js'

export interface ServerParts {
  views: Views
  ring: RingProducer
  pool: HistogramPool
  stats: Omit<StatsContext, 'workerThreads'>
  delayUs: number
  maxDelayUs: number
  /** Called after counters and histograms are zeroed. */
  onReset: () => void
}

/** Per-response state, as fields of the response itself: no closure per request. */
class MeterResponse extends ServerResponse<IncomingMessage> {
  t0 = 0
  scan = 0
  wait: NodeJS.Timeout | NodeJS.Immediate | undefined = undefined
  dueAt = 0
}

// Bodies and their lengths by status, built once: `OK\n` for 200, the reason phrase otherwise.
const BODIES = new Map<number, [string, string]>()
for (let s = 200; s <= 599; s++) {
  const body = s === 200 ? 'OK\n' : `${STATUS_CODES[s] ?? 'Status ' + String(s)}\n`
  BODIES.set(s, [body, String(Buffer.byteLength(body))])
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' }

export function sendJson (res: ServerResponse, status: number, value: unknown, extra?: Record<string, string>): void {
  const body = JSON.stringify(value)
  res.writeHead(status, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(body), ...extra })
  res.end(body)
}

export function sendError (res: ServerResponse, err: ApiError, extra?: Record<string, string>): void {
  sendJson(res, err.status, err.toJSON(), extra)
}

export interface MeterServer {
  server: http.Server
  /** From now on every response says Connection: close, and /readyz fails. */
  drainConnections: () => void
  readonly shuttingDown: boolean
}

export function createMeterServer (parts: ServerParts): MeterServer {
  const { views, ring, pool } = parts
  const counters = views.counters
  const highWater = ring.capacity >>> 2
  const parser = new RootQueryParser(parts.delayUs, parts.maxDelayUs)
  let shuttingDown = false

  function onFinish (this: MeterResponse): void {
    const us = Math.round((performance.now() - this.t0) * 1000)
    const status = this.statusCode
    Atomics.add(counters, C.REQUESTS, 1n)
    Atomics.add(counters, C.STATUS_1XX - 1 + ((status / 100) | 0), 1n)
    if (status >= 400) Atomics.add(counters, C.ERRORS, 1n)
    countHops(this.scan)
    if (ring.push(us) > highWater) pool.drainSoon()
  }

  function countHops (scan: number): void {
    const proxy = proxyHops(scan)
    const mesh = meshHops(scan)
    const total = proxy + mesh
    Atomics.add(counters, C.HOPS_BY_COUNT + (total < 4 ? total : 4), 1n)
    if (total === 0) return
    Atomics.add(counters, C.VIA_PROXY, 1n)
    if (proxy > 0) Atomics.add(counters, C.PROXY_HOPS, BigInt(proxy))
    if (mesh > 0) Atomics.add(counters, C.MESH_HOPS, BigInt(mesh))
  }

  // A measured request that ends without its response finishing: the client
  // went away (or the socket broke). It counts as an aborted error, and its
  // pending delay is cancelled so nothing is left in flight.
  function onClose (this: MeterResponse): void {
    if (this.writableFinished) return
    if (this.wait !== undefined) {
      clearTimeout(this.wait as NodeJS.Timeout)
      clearImmediate(this.wait as NodeJS.Immediate)
      this.wait = undefined
    }
    Atomics.add(counters, C.REQUESTS, 1n)
    Atomics.add(counters, C.ERRORS, 1n)
    Atomics.add(counters, C.ABORTED, 1n)
    countHops(this.scan)
  }

  function reply (res: MeterResponse): void {
    res.wait = undefined
    const status = res.statusCode
    const [body, length] = BODIES.get(status) as [string, string]
    const timing = 'app;dur=' + (performance.now() - res.t0).toFixed(3)
    res.writeHead(status, shuttingDown
      ? ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', length, 'Server-Timing', timing, 'Connection', 'close']
      : ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', length, 'Server-Timing', timing])
    res.end(body)
  }

  // Node's timers have 1 ms resolution, so a sub-millisecond delay is waited
  // out by yielding to the event loop until it is due: other requests run
  // meanwhile, and it never spins for more than a millisecond.
  function replyWhenDue (res: MeterResponse): void {
    if (performance.now() >= res.dueAt) reply(res)
    else res.wait = setImmediate(replyWhenDue, res)
  }

  function root (req: IncomingMessage, res: MeterResponse, t0: number, spec: RootSpec): void {
    const method = req.method
    if (method !== 'GET' && method !== 'HEAD') {
      Atomics.add(counters, C.UNMEASURED, 1n)
      return sendError(res, new ApiError('METHOD_NOT_ALLOWED', `${method ?? ''} is not allowed on /: use GET or HEAD`), { allow: 'GET, HEAD' })
    }
    res.t0 = t0
    const scan = scanHeaders(req.rawHeaders)
    if (scan === PROBE) Atomics.add(counters, C.UNMEASURED, 1n)
    else {
      res.scan = scan
      res.on('finish', onFinish)
      res.on('close', onClose)
    }
    res.statusCode = pick(spec.status)
    const delayUs = pick(spec.delay)
    if (delayUs === 0) reply(res)
    else if (delayUs >= 1000) res.wait = setTimeout(reply, delayUs / 1000, res)
    else {
      res.dueAt = t0 + delayUs / 1000
      res.wait = setImmediate(replyWhenDue, res)
    }
  }

  function onRequest (req: IncomingMessage, res: MeterResponse): void {
    const t0 = performance.now()
    const url = req.url as string
    if (url === '/') return root(req, res, t0, parser.plain)
    if (url.charCodeAt(0) === 47 && url.charCodeAt(1) === 63) { // "/?"
      const spec = parser.parse(url.slice(2))
      if (!(spec instanceof ApiError)) return root(req, res, t0, spec)
      Atomics.add(counters, C.UNMEASURED, 1n)
      return sendError(res, spec)
    }
    Atomics.add(counters, C.UNMEASURED, 1n)
    slowPath(req, res, url)
  }

  function slowPath (req: IncomingMessage, res: ServerResponse, url: string): void {
    const q = url.indexOf('?')
    const path = q < 0 ? url : url.slice(0, q)
    const method = req.method ?? ''
    const route = ROUTES[path]
    if (route === undefined) {
      return sendError(res, new ApiError('NOT_FOUND', `no endpoint at ${JSON.stringify(path.slice(0, 200))}; try /, /stats, /livez or /readyz`))
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
      GET: (_req, res) => {
        pool.snapshot(STATS_PERCENTILES).then(
          (snap) => sendJson(res, 200, buildStats({ ...parts.stats, workerThreads: pool.threads }, snap)),
          (err) => fail(res, err)
        )
      }
    },
    '/stats/reset': {
      POST: (_req, res) => {
        // Zero the counters, then have the worker discard exactly the samples
        // pushed before this point: both happen before any later request on
        // this (single) thread can push, so counters and histograms agree.
        for (let i = 0; i < C.MAIN_THREAD_END; i++) Atomics.store(counters, i, 0n)
        parts.onReset()
        pool.reset(ring.writeSequence).then(
          () => sendJson(res, 200, { reset: true }),
          (err) => fail(res, err)
        )
      }
    },
    '/livez': { GET: (_req, res) => sendJson(res, 200, { status: 'ok' }) },
    '/healthz': { GET: (_req, res) => sendJson(res, 200, { status: 'ok' }) },
    '/readyz': {
      GET: (_req, res) => {
        if (shuttingDown) return sendError(res, new ApiError('SHUTTING_DOWN'))
        if (!pool.ready) return sendError(res, new ApiError('NOT_READY'))
        sendJson(res, 200, { status: 'ready' })
      }
    }
  }

  const server = http.createServer({ ServerResponse: MeterResponse }, onRequest) as unknown as http.Server
  return {
    server,
    drainConnections: () => { shuttingDown = true },
    get shuttingDown () { return shuttingDown }
  }
}
