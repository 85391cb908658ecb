// A shard thread (HTTP_THREADS > 1): one more acceptor on PORT (listen with
// reusePort; the kernel spreads connections over the threads), serving `/`
// on its own shard's counters and ring and relaying every other path to the
// main thread (relay.ts). The main thread keeps the lifecycle and tells it,
// by message, when to drain connections and when to close.

import { parentPort, workerData } from 'node:worker_threads'
import { attach, shard, type LayoutConfig } from '../shared/layout.js'
import { RingProducer } from '../shared/ring.js'
import { createRelay } from './relay.js'
import { createMeterServer, type HotPathParts } from './server.js'

export interface ShardData {
  sab: SharedArrayBuffer
  layout: LayoutConfig
  shard: number
  host: string
  port: number
  socketPath: string
  allowed: Record<string, string>
  delayUs: number
  maxDelayUs: number
  maxSize: number
  limits: HotPathParts['limits']
}

export type ToShard = { type: 'drain' } | { type: 'close', graceMs: number } | { type: 'reset' }
export type FromShard = { type: 'listening' } | { type: 'error', message: string } | { type: 'drainSoon' } | { type: 'reset' } | { type: 'closed' }

const d = workerData as ShardData
const port = parentPort as NonNullable<typeof parentPort>
const post = (m: FromShard): void => port.postMessage(m)
const views = shard(attach(d.sab, d.layout), d.shard)
let lastAsk = 0
const meter = createMeterServer({
  views,
  ring: new RingProducer(views),
  delayUs: d.delayUs,
  maxDelayUs: d.maxDelayUs,
  maxSize: d.maxSize,
  limits: d.limits,
  // The ring is filling: ask the main thread's pool, at most once a millisecond.
  drainSoon: () => {
    const now = performance.now()
    if (now - lastAsk >= 1) { lastAsk = now; post({ type: 'drainSoon' }) }
  },
  relay: createRelay(d.socketPath),
  allowed: d.allowed
})
meter.server.once('error', (err) => post({ type: 'error', message: err.message }))
meter.server.listen({ port: d.port, host: d.host, reusePort: true } as Parameters<typeof meter.server.listen>[0], () => post({ type: 'listening' }))

port.on('message', (m: ToShard) => {
  switch (m.type) {
    case 'drain':
      meter.drainConnections()
      break
    case 'reset':
      meter.resetCounters()
      post({ type: 'reset' })
      break
    case 'close': {
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, m.graceMs).unref())
      // process.exit in a worker ends this thread only, kept-alive relay sockets and all.
      meter.close(deadline).then(() => { post({ type: 'closed' }); process.exit(0) }, () => process.exit(1))
    }
  }
})
