// The shard threads of HTTP_THREADS > 1, seen from the main thread: started
// once the main listener is bound (they join its port with reusePort), told
// to drain and close with it, and asked for nothing else. A thread that
// cannot listen fails the start, as a port in use does.

import { Worker } from 'node:worker_threads'
import { once } from 'node:events'
import type { FromShard, ShardData, ToShard } from './http-shard.js'

export class ShardThreads {
  readonly #workers: Worker[] = []
  readonly #closed: Array<Promise<unknown>> = []
  /** Each thread's answer to the reset asked of it, in order. */
  readonly #resets = new Map<Worker, Array<() => void>>()

  /** Starts shards 1..count-1 and resolves when each listens. */
  async start (count: number, data: Omit<ShardData, 'shard'>, drainSoon: () => void): Promise<void> {
    const started: Array<Promise<void>> = []
    for (let shard = 1; shard < count; shard++) {
      const worker = new Worker(new URL('./http-shard.js', import.meta.url), { workerData: { ...data, shard } satisfies ShardData })
      this.#workers.push(worker)
      this.#closed.push(once(worker, 'exit'))
      started.push(new Promise<void>((resolve, reject) => {
        worker.on('message', (m: FromShard) => {
          if (m.type === 'listening') resolve()
          else if (m.type === 'error') reject(new Error(`HTTP thread ${shard}: ${m.message}`))
          else if (m.type === 'drainSoon') drainSoon()
          else if (m.type === 'reset') this.#resets.get(worker)?.shift()?.()
        })
        worker.once('error', reject)
        worker.once('exit', (code) => {
          // A thread gone has nothing left to reset.
          for (const done of this.#resets.get(worker)?.splice(0) ?? []) done()
          reject(new Error(`HTTP thread ${shard} exited (${code}) before listening`))
        })
      }))
    }
    await Promise.all(started)
  }

  #send (m: ToShard): void {
    for (const w of this.#workers) w.postMessage(m)
  }

  drain (): void { this.#send({ type: 'drain' }) }

  /** Resolves once every thread has zeroed its counters and fenced its ring (server.ts, resetCounters). */
  async reset (): Promise<void> {
    await Promise.all(this.#workers.filter((w) => w.threadId >= 0).map(async (w) => await new Promise<void>((resolve) => {
      const waiting = this.#resets.get(w) ?? []
      waiting.push(resolve)
      this.#resets.set(w, waiting)
      w.postMessage({ type: 'reset' } satisfies ToShard)
    })))
  }

  /** Each thread stops accepting and ends its connections within `graceMs`; then it exits. */
  async close (graceMs: number): Promise<void> {
    this.#send({ type: 'close', graceMs })
    const cut = setTimeout(() => { for (const w of this.#workers) w.terminate().catch(() => {}) }, graceMs + 1000)
    await Promise.all(this.#closed)
    clearTimeout(cut)
  }

  /** Stops every thread at once (a start that failed). */
  async kill (): Promise<void> {
    await Promise.all(this.#workers.map(async (w) => await w.terminate()))
  }
}
