// The HTTP server's hot path, `GET /`: onRequest → root → respond (at once,
// or after its delay through Delayed and fire), then record. Every other
// path goes to slowPath and the route table of routes.ts; every other
// answer of `/` (`size`, `header`, `close`, HEAD, POST, PUT, the other
// methods) to shaped.ts. Per measured request the hot path does a
// performance.now() pair, one pass over the raw headers, a few Atomics.add
// on the shared counters and one ring push: no lock, no message to a
// worker, nothing allocated beyond what node:http itself does and the
// Server-Timing string. Its body bytes cost nothing either: they are the
// status's default body, summed from the status counters (status-bodies.ts).

import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import { ApiError } from '../shared/errors.js'
import { add, C, inc, STATUS_MIN, zeroShardCounters, type Views } from '../shared/layout.js'
import type { RingProducer } from '../shared/ring.js'
import { F, PROBE, meshHops, proxyHops, scanHeaders } from './headers.js'
import { ROOT_ALLOW } from './answer.js'
import { ConnectionGuard } from './connection-guard.js'
import { Deliveries } from './delivery.js'
import { GracefulClose } from './graceful-close.js'
import { pick, RootQueryParser, type RootSpec } from './query.js'
import { edgeError } from './request-edge.js'
import { sendError, type Routes } from './reply.js'
import { allowed, createRoutes, dispatch, type RouteContext } from './routes.js'
import { createShaped } from './shaped.js'
import { BODY, LENGTH } from './status-bodies.js'
import { tooLarge } from './upload.js'

/** One listener's shared memory: its counters and the producing end of its ring. */
export interface Meter {
  views: Views
  ring: RingProducer
}

/** What the hot path needs: its shard's memory, the delay and size limits, node:http's limits. */
export interface HotPathParts extends Meter {
  delayUs: number
  maxDelayUs: number
  /** MAX_SIZE, in bytes. */
  maxSize: number
  /** node:http's limits, in ms (see config.ts for why each default). */
  limits: { headersTimeoutMs: number, requestTimeoutMs: number, keepAliveTimeoutMs: number, maxConnections: number }
  /** Asks the histogram worker for an early drain (the ring is filling). */
  drainSoon: () => void
}

/**
 * One listener's server. A process with a baseline listener makes two, each
 * with its own Meter: the hot path below closes over its listener's counters
 * and ring, so it never asks per request which listener it serves.
 */
export interface ServerParts extends HotPathParts, Omit<RouteContext, 'connections' | 'shuttingDown'> {}

/**
 * A shard thread's server (HTTP_THREADS, http-shard.ts): the same hot path
 * on its own counters and ring; every other path is relayed to the main
 * thread, which keeps the routes, and counts it there.
 */
export interface RelayParts extends HotPathParts {
  relay: (req: IncomingMessage, res: ServerResponse) => void
  /** The main thread's routes' Allow values, by path. */
  allowed: Readonly<Record<string, string>>
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

/** Whether the request target is `/`, with a query or without, in origin or absolute form. */
function isRoot (url: string): boolean {
  const path = url.charCodeAt(0) === 47 ? url : originForm(url) ?? ''
  return path === '/' || path.startsWith('/?')
}

export interface MeterServer {
  server: http.Server
  /** From now on every response says Connection: close, and /readyz fails. */
  drainConnections: () => void
  /** Stops accepting and ends every connection without a reset (graceful-close.ts); destroys what is left at `deadline`. */
  close: (deadline: Promise<void>) => Promise<void>
  /**
   * This thread's part of a reset: zeroes its counters (open connections
   * stay counted) and fences its ring, between two of its requests, so
   * every request is wholly before the reset or wholly after (ring.ts).
   */
  resetCounters: () => void
  readonly shuttingDown: boolean
  /** The Allow value of each route path (what a shard thread refuses with). */
  readonly allowed: Record<string, string>
}

export function createMeterServer (parts: ServerParts | RelayParts): MeterServer {
  const { views, ring, drainSoon } = parts
  const relay = 'relay' in parts ? parts.relay : undefined
  const counters = views.counters
  const highWater = ring.capacity >>> 2
  const parser = new RootQueryParser(parts.delayUs, parts.maxDelayUs, parts.maxSize)
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
  // Expect: 100-continue (curl 7.88 sends it above 1 MiB): an upload to `/` whose
  // Content-Length is above MAX_SIZE gets its 413 instead, so its body is
  // never sent (upload.ts); every other request gets the 100 and goes on.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const length = Number(req.headers['content-length'])
    if (length > parts.maxSize && (req.method === 'POST' || req.method === 'PUT') && isRoot(req.url as string)) {
      inc(counters, C.UNMEASURED)
      return sendError(res, tooLarge(length, parts.maxSize), { connection: 'close' })
    }
    res.writeContinue()
    onRequest(req, res)
  })
  const guard: ConnectionGuard = new ConnectionGuard(server, views, maxConnections, (path): string | undefined => {
    if (path === '/') return ROOT_ALLOW
    if (routes === undefined) return Object.hasOwn((parts as RelayParts).allowed, path) ? (parts as RelayParts).allowed[path] : undefined
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined
    return route === undefined ? undefined : allowed(route)
  })
  const graceful = new GracefulClose(server)
  let shuttingDown = false
  const routes: Routes | undefined = relay === undefined ? createRoutes({ ...(parts as ServerParts), connections: () => guard.figures(), shuttingDown: () => shuttingDown }) : undefined

  function record (status: number, us: number, scan: number): void {
    inc(counters, C.REQUESTS)
    inc(counters, C.STATUS + status - STATUS_MIN)
    if (status >= 400) inc(counters, C.ERRORS)
    countHops(scan)
    if (ring.push(us) > highWater) drainSoon()
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
  const BODILESS = ['Server-Timing', '']
  const BODILESS_CLOSING = [...BODILESS, 'Connection', 'close']

  // Server time, the one definition (docs/stats.md): from the `request` event
  // to the moment the response head is ready to be written. It is what a
  // header can carry, so the sample in the histograms (/stats, /metrics,
  // /stats/histogram) and the request's own Server-Timing are the same
  // integer µs, and a client subtracting one from its end-to-end time gets
  // the network and proxies alone. Node's serialisation and the socket write
  // that follow are not in it.
  function respond (res: ServerResponse, status: number, t0: number, scan: number): void {
    const us = Math.round((performance.now() - t0) * 1000)
    const socket = res.socket
    if (socket === null || !socket.writable) return respondLater(res, status, us, scan)
    write(res, status, us)
    if (scan !== PROBE) record(status, us, scan)
  }

  function write (res: ServerResponse, status: number, us: number): void {
    const length = LENGTH[status]
    if (length === undefined) {
      // 204 and 304: no body and no Content-Length (RFC 9110 §8.6).
      const headers = graceful.sayClose ? BODILESS_CLOSING : BODILESS
      headers[1] = serverTiming(us)
      res.writeHead(status, headers)
      res.end()
    } else {
      const headers = graceful.sayClose ? CLOSING : HEADERS
      headers[3] = length
      headers[5] = serverTiming(us)
      res.writeHead(status, headers)
      res.end(BODY[status])
    }
  }

  // Off the hot path: a response queued behind another of its pipeline (node
  // writes it when its turn comes, if the connection lives that long), or one
  // whose client has gone. Only a response completely written counts as
  // answered, with its sample; one that never can be is aborted.
  function respondLater (res: ServerResponse, status: number, us: number, scan: number): void {
    if (!res.req.socket.writable) return aborted(scan)
    write(res, status, us)
    if (scan !== PROBE) queued.add(res, { status, us, scan })
  }
  const queued = new Deliveries<{ status: number, us: number, scan: number }>((q) => record(q.status, q.us, q.scan), (q) => aborted(q.scan))

  function aborted (scan: number): void {
    if (scan === PROBE) return
    inc(counters, C.REQUESTS)
    inc(counters, C.ERRORS)
    inc(counters, C.ABORTED)
    countHops(scan)
  }

  const shaped = createShaped({ counters, record, aborted, sayClose: () => graceful.sayClose, reading: (req, on) => guard.reading(req, on), maxSize: parts.maxSize, serverTiming })

  // `/` with `size`, `header` or `close`: what root() checks first, for a request it never sees.
  function shapedRoot (req: IncomingMessage, res: ServerResponse, t0: number, spec: RootSpec): void {
    const wrong = edgeError(req)
    if (wrong !== undefined) return guard.refuse(req, res, wrong)
    const scan = scanHeaders(req.rawHeaders)
    if (scan === PROBE) inc(counters, C.UNMEASURED)
    shaped(req, res, t0, spec, scan)
  }

  /**
   * A request answered after a delay. Node's timers have 1 ms resolution, so a
   * sub-millisecond delay is waited out by yielding to the event loop until it
   * is due: other requests run meanwhile, and it never spins longer than 1 ms.
   * A client that goes away first is counted as aborted and its timer cancelled,
   * so nothing is left in flight. The request's 'close' says so wherever it
   * stood in a pipeline: node emits 'close' on a response only once it is on
   * the socket, never on one queued behind it.
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
      res.req.once('close', () => this.closed())
    }

    closed (): void {
      if (this.done) return
      this.done = true
      clearTimeout(this.wait as NodeJS.Timeout)
      clearImmediate(this.wait as NodeJS.Immediate)
      aborted(this.scan)
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
    // No Host, a flagged Host or Transfer-Encoding, a version but 1.x, or a
    // probe (whose scan stops early): request-edge.ts has the last word.
    if (scan === PROBE || (scan & (F.HOST | F.FRAMING)) !== F.HOST || req.httpVersionMajor !== 1) {
      const wrong = edgeError(req)
      if (wrong !== undefined) return guard.refuse(req, res, wrong)
    }
    if (scan === PROBE) inc(counters, C.UNMEASURED)
    // HEAD, POST, PUT and the rest are answered off the plain path.
    if (req.method !== 'GET') return shaped(req, res, t0, spec, scan)
    const status = pick(spec.status)
    const delayUs = pick(spec.delay)
    if (delayUs === 0) respond(res, status, t0, scan)
    else new Delayed(res, status, t0, scan, delayUs) // eslint-disable-line no-new
  }

  function onRequest (req: IncomingMessage, res: ServerResponse): void {
    const t0 = performance.now()
    // Pipelined behind a refused request: the connection closes before any
    // answer to this one, so it is neither served nor counted.
    if (res.socket === null && guard.closing(req.socket)) return
    const url = req.url as string
    // Node's own Host check (requireHostHeader, turned off) builds
    // req.headers for every request; `/` checks Host in its one pass over the
    // raw headers instead, and answers a bad one with a JSON body.
    if (url === '/') return root(req, res, t0, parser.plain)
    if (url.charCodeAt(0) === 47 && url.charCodeAt(1) === 63) { // "/?"
      const spec = parser.parse(url)
      if (!(spec instanceof ApiError)) return spec.shape === undefined ? root(req, res, t0, spec) : shapedRoot(req, res, t0, spec)
      const wrong = edgeError(req)
      if (wrong !== undefined) return guard.refuse(req, res, wrong)
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
    const wrong = edgeError(req)
    if (wrong !== undefined) return guard.refuse(req, res, wrong)
    if (relay !== undefined) {
      if (graceful.sayClose) res.setHeader('connection', 'close')
      return relay(req, res)
    }
    inc(counters, C.UNMEASURED)
    slowPath(req, res, url)
  }

  function slowPath (req: IncomingMessage, res: ServerResponse, url: string): void {
    if (graceful.sayClose) res.setHeader('connection', 'close')
    const q = url.indexOf('?')
    dispatch(routes as Routes, req, res, q < 0 ? url : url.slice(0, q))
  }

  return {
    server,
    drainConnections: () => { shuttingDown = true; graceful.drain() },
    close: async (deadline) => await graceful.close(deadline),
    resetCounters: () => { zeroShardCounters(counters); ring.fence() },
    get shuttingDown () { return shuttingDown },
    allowed: routes === undefined ? {} : Object.fromEntries(Object.entries(routes).map(([path, route]) => [path, allowed(route)]))
  }
}
