// Wires one running PodMeter: the shared buffers, the histogram pool, the
// runtime monitor, mesh detection, the HTTP server (and the baseline
// listener's, when BASELINE_PORT is set; the TCP echo, when TCP_ECHO_PORT
// is), and the orderly shutdown.

import type { Server } from 'node:http'
import type { AddressInfo, Server as NetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { reusePortWorks, type ServerConfig } from '../shared/config.js'
import { create, type LayoutConfig } from '../shared/layout.js'
import { RingProducer } from '../shared/ring.js'
import { AdminGate } from './admin.js'
import { MeshDetector } from './mesh-detect.js'
import { HistogramPool } from './pool.js'
import { containerMemory } from './container-memory.js'
import { autoThreads } from './cpu-quota.js'
import { cachedFor, RuntimeMonitor } from './runtime.js'
import { listenForRelay } from './relay.js'
import { createMeterServer, type Meter, type MeterServer } from './server.js'
import { ShardThreads } from './shards.js'
import { startTcpEcho, type RunningTcpEcho } from './tcp-echo.js'
import { rateFigures, type StatsContext } from './stats.js'

export interface Running {
  port: number
  url: string
  /** The baseline listener, null without one. */
  baseline: { port: number, url: string } | null
  /** The TCP echo listener (TCP_ECHO_PORT), null without one; `url` is tcp://host:port. */
  tcpEcho: { port: number, url: string } | null
  /**
   * Stop as on SIGTERM: not ready at once, and every answer says
   * Connection: close; after `delayMs` (SHUTDOWN_DELAY_MS on SIGTERM, 0 by
   * default) stop accepting, let in-flight requests finish, end every
   * connection without a reset (graceful-close.ts). Whatever is open
   * SHUTDOWN_GRACE_MS after the call is cut. Every listener alike (the TCP
   * echo ends each connection after the echoes it has read, tcp-echo.ts).
   */
  shutdown: (delayMs?: number) => Promise<void>
  /**
   * Resolves when the histogram worker first answers (/readyz turns 200);
   * rejects if it cannot start at all. The server listens before that.
   */
  ready: Promise<void>
  /** The HTTP threads running, and why that many (HTTP_THREADS, or what `auto` found). */
  httpThreads: { threads: number, reason: string }
}

function meter (layout: LayoutConfig): Meter {
  const views = create(layout)
  return { views, ring: new RingProducer(views) }
}

/**
 * Where shard threads relay to: an abstract Unix socket on Linux (no file to
 * leave behind), else one in the temp dir. node:crypto (OpenSSL, about 1 MiB
 * of RSS) is loaded only here, with HTTP_THREADS above 1.
 */
function relayPath (): string {
  const name = `podmeter-${process.pid}-${process.getBuiltinModule('node:crypto').randomBytes(6).toString('hex')}.sock`
  return process.platform === 'linux' ? `\0${name}` : join(tmpdir(), name)
}

async function listen (server: Server, port: number, host: string, reusePort = false): Promise<{ port: number, url: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    const options = reusePort ? { port, host, reusePort } : { port, host }
    server.listen(options as Parameters<Server['listen']>[0], () => { server.off('error', reject); resolve() })
  })
  const { port: bound, address, family } = server.address() as AddressInfo
  const hostPart = family === 'IPv6' ? `[${address}]` : address
  return { port: bound, url: `http://${hostPart}:${bound}` }
}

export async function serve (config: ServerConfig): Promise<Running> {
  const layout: LayoutConfig = {
    ringCapacity: config.ringCapacity,
    lowestUs: config.lowestUs,
    highestUs: config.highestUs,
    digits: config.digits,
    windowSeconds: config.windowSeconds
  }
  const httpThreads = config.httpThreads === 'auto'
    ? autoThreads({ cgroupRoot: config.cgroupRoot, procSelf: config.procSelf }, reusePortWorks())
    : { threads: config.httpThreads, reason: 'HTTP_THREADS' }
  const threads = httpThreads.threads
  const main = meter({ ...layout, shards: threads })
  const base = config.baselinePort === null ? null : meter(layout)
  const listeners = base === null ? [main] : [main, base]
  const echo = config.tcpEchoPort === null ? null : meter(layout)
  const pool = new HistogramPool(main.views, base?.views ?? null, config, echo?.views ?? null)
  const runtime = new RuntimeMonitor(config.windowSeconds, () => rateFigures(main.views, base?.views ?? null))
  // Mesh detection reads the main listener's header counters: the baseline
  // port is the unmeshed one.
  const mesh = new MeshDetector({
    podinfoDir: config.podinfoDir,
    procNetTcp: config.procNetTcp.split(','),
    envoyAdmin: config.envoyAdmin === 'off' ? undefined : config.envoyAdmin,
    refreshMs: config.meshRefreshMs,
    views: main.views
  })
  const stats: Omit<StatsContext, 'workerThreads'> = {
    views: main.views,
    runtime,
    windowSeconds: config.windowSeconds,
    since: performance.now(),
    mesh: () => mesh.view,
    containerMemory: cachedFor(1000, () => containerMemory({ cgroupRoot: config.cgroupRoot, procSelf: config.procSelf, env: process.env })),
    baseline: null
  }
  const admin = new AdminGate(config)
  const shards = new ShardThreads()
  const meters: MeterServer[] = listeners.map((m) => createMeterServer({
    ...m,
    pool,
    stats,
    delayUs: config.delayUs,
    maxDelayUs: config.maxDelayUs,
    maxSize: config.maxSize,
    metricsBucketsUs: config.metricsBucketsUs,
    metricsNativeSchema: config.metricsNativeSchema,
    metricsProtobuf: config.metricsProtobuf,
    resetCounters: async () => {
      for (const s of meters) s.resetCounters()
      tcpEcho?.resetCounters()
      await shards.reset()
      stats.since = performance.now()
      runtime.resetRequests()
      mesh.countersReset()
    },
    limits: config,
    drainSoon: () => pool.drainSoon(),
    admin,
    faults: config.faults
  }))

  // The worker may be slow to start (a CPU-throttled pod): listen at once,
  // and let /readyz say 503 until it answers. The first mesh detection reads
  // every source once (the admin probe is bounded by its timeout), so that
  // /stats is right from the first request.
  let stopping = false
  // A worker start cut short by a shutdown is no failure.
  const ready = pool.start().catch((err: unknown) => { if (!stopping) throw err })
  ready.catch(() => {})
  await mesh.start()
  const servers = meters.map((m) => m.server)
  let bound: { port: number, url: string }
  let baseline: Running['baseline'] = null
  let relay: NetServer | undefined
  let tcpEcho: RunningTcpEcho | undefined
  try {
    bound = await listen(servers[0] as Server, config.port, config.host, threads > 1)
    if (threads > 1) {
      const socketPath = relayPath()
      relay = await listenForRelay(servers[0] as Server, socketPath)
      const limits = { headersTimeoutMs: config.headersTimeoutMs, requestTimeoutMs: config.requestTimeoutMs, keepAliveTimeoutMs: config.keepAliveTimeoutMs, maxConnections: config.maxConnections }
      await shards.start(threads, {
        sab: main.views.sab, layout: main.views.config, host: config.host, port: bound.port, socketPath, allowed: (meters[0] as MeterServer).allowed, delayUs: config.delayUs, maxDelayUs: config.maxDelayUs, maxSize: config.maxSize, limits
      }, () => pool.drainSoon())
    }
    if (base !== null) {
      baseline = await listen(servers[1] as Server, config.baselinePort ?? 0, config.host)
      stats.baseline = { views: base.views, port: baseline.port }
    }
    if (echo !== null) {
      tcpEcho = await startTcpEcho({
        ...echo, drainSoon: () => pool.drainSoon(), maxConnections: config.tcpEchoMaxConnections, idleTimeoutMs: config.tcpEchoIdleTimeoutMs, windowSeconds: config.windowSeconds
      }, config.tcpEchoPort ?? 0, config.host)
      stats.tcpEcho = tcpEcho.figures
    }
  } catch (err) {
    // A port in use: release what started so the process can exit with the error.
    for (const s of servers) s.close()
    await tcpEcho?.close(Promise.resolve())
    relay?.close()
    await shards.kill()
    runtime.close()
    mesh.close()
    await pool.close()
    throw err
  }

  let closing: Promise<void> | undefined
  const shutdown = async (delayMs = 0): Promise<void> => {
    stopping = true
    closing ??= (async () => {
      const started = performance.now()
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, config.shutdownGraceMs).unref())
      for (const m of meters) m.drainConnections()
      shards.drain()
      // Still accepting and answering while Kubernetes takes the pod out of
      // its endpoints: a request that arrives meanwhile is answered (with
      // Connection: close), not refused. Idle connections are left alone, as
      // closing one races a request the client may be sending on it.
      if (delayMs > 0) await Promise.race([new Promise((resolve) => setTimeout(resolve, Math.min(delayMs, config.shutdownGraceMs))), deadline])
      // Stop accepting; each connection ends with a FIN once no request on
      // it can be lost (graceful-close.ts). Whatever is left at the deadline
      // is cut.
      const left = Math.max(0, config.shutdownGraceMs - (performance.now() - started))
      await Promise.all([...meters.map(async (m) => await m.close(deadline)), shards.close(left), tcpEcho?.close(deadline)])
      relay?.close()
      runtime.close()
      mesh.close()
      await pool.close()
    })()
    return closing
  }
  return { ...bound, baseline, tcpEcho: tcpEcho === undefined ? null : { port: tcpEcho.port, url: tcpEcho.url }, shutdown, ready, httpThreads }
}
