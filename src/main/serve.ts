// Wires one running PodMeter: the shared buffer, the histogram pool, the
// runtime monitor and the HTTP server, and the orderly shutdown.

import type { AddressInfo } from 'node:net'
import type { ServerConfig } from '../shared/config.js'
import { C, create, readCounter } from '../shared/layout.js'
import { RingProducer } from '../shared/ring.js'
import { AdminGate } from './admin.js'
import { MeshDetector } from './mesh-detect.js'
import { HistogramPool } from './pool.js'
import { cachedFor, containerMemory, RuntimeMonitor } from './runtime.js'
import { createMeterServer } from './server.js'

export interface Running {
  port: number
  url: string
  /**
   * Stop as on SIGTERM: not ready at once, and every answer says
   * Connection: close; after `delayMs` (SHUTDOWN_DELAY_MS on SIGTERM, 0 by
   * default) stop accepting, let in-flight requests finish, close. Whatever is
   * open SHUTDOWN_GRACE_MS after the call is cut.
   */
  shutdown: (delayMs?: number) => Promise<void>
}

export async function serve (config: ServerConfig): Promise<Running> {
  const views = create({
    ringCapacity: config.ringCapacity,
    lowestUs: config.lowestUs,
    highestUs: config.highestUs,
    digits: config.digits,
    windowSeconds: config.windowSeconds
  })
  const ring = new RingProducer(views)
  const pool = new HistogramPool(views, config)
  const runtime = new RuntimeMonitor(config.windowSeconds, () => readCounter(views, C.REQUESTS))
  const mesh = new MeshDetector({
    podinfoDir: config.podinfoDir,
    procNetTcp: config.procNetTcp.split(','),
    envoyAdmin: config.envoyAdmin === 'off' ? undefined : config.envoyAdmin,
    refreshMs: config.meshRefreshMs,
    views
  })
  const stats = {
    views,
    runtime,
    windowSeconds: config.windowSeconds,
    since: performance.now(),
    mesh: () => mesh.view,
    containerMemory: cachedFor(1000, () => containerMemory(config.cgroupRoot))
  }
  const meter = createMeterServer({
    views,
    ring,
    pool,
    stats,
    delayUs: config.delayUs,
    maxDelayUs: config.maxDelayUs,
    metricsBucketsUs: config.metricsBucketsUs,
    onReset: () => { stats.since = performance.now(); runtime.resetRequests(); mesh.countersReset() },
    limits: config,
    admin: new AdminGate(config),
    faults: config.faults
  })
  const { server } = meter

  // The first detection reads every source once (the admin probe is bounded
  // by its timeout), so that /stats is right from the first request.
  await Promise.all([pool.start(), mesh.start()])
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host, () => { server.off('error', reject); resolve() })
  })
  const { port, address, family } = server.address() as AddressInfo
  const hostPart = family === 'IPv6' ? `[${address}]` : address

  let closing: Promise<void> | undefined
  const shutdown = async (delayMs = 0): Promise<void> => {
    closing ??= (async () => {
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, config.shutdownGraceMs).unref())
      meter.drainConnections()
      // Still accepting and answering while Kubernetes takes the pod out of
      // its endpoints: a request that arrives meanwhile is answered (with
      // Connection: close), not refused. Idle connections are left alone, as
      // closing one races a request the client may be sending on it.
      if (delayMs > 0) await Promise.race([new Promise((resolve) => setTimeout(resolve, Math.min(delayMs, config.shutdownGraceMs))), deadline])
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // Idle keep-alive connections close now; busy ones get Connection: close
      // on their response and end after it. Whatever is left at the deadline
      // is cut.
      server.closeIdleConnections()
      const sweep = setInterval(() => server.closeIdleConnections(), 50)
      await Promise.race([closed, deadline])
      clearInterval(sweep)
      server.closeAllConnections()
      runtime.close()
      mesh.close()
      await pool.close()
    })()
    return closing
  }
  return { port, url: `http://${hostPart}:${port}`, shutdown }
}
