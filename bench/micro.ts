// Micro-benchmarks of the pieces on and behind the hot path, in one thread:
// ring push and drain, histogram record, percentile walk, HDR encoding.
// Each figure is the median of several timed batches after a warm-up.

import { encodeIntoCompressedBase64 } from 'hdr-histogram-js'
import { create, inc, type LayoutConfig } from '../src/shared/layout.js'
import { RingConsumer, RingProducer } from '../src/shared/ring.js'
import { HistogramStore, valuesAt } from '../src/worker/histograms.js'
import { median } from './lib.js'

const CONFIG: LayoutConfig = { ringCapacity: 2 ** 18, lowestUs: 1, highestUs: 60_000_000, digits: 3, windowSeconds: 10 }

/** Nanoseconds per operation: median of `batches` timed runs of `fn(n)`. */
function nsPerOp (fn: (n: number) => void, n: number, batches = 9): number[] {
  fn(n) // warm-up, lets the JIT settle
  const out: number[] = []
  for (let b = 0; b < batches; b++) {
    const t0 = process.hrtime.bigint()
    fn(n)
    out.push(Number(process.hrtime.bigint() - t0) / n)
  }
  return out
}

export interface MicroResult { name: string, unit: string, values: number[] }

export function micro (): MicroResult[] {
  const v = create(CONFIG)
  const producer = new RingProducer(v)
  const consumer = new RingConsumer(v)
  let sink = 0
  const keep = (x: number): void => { sink += x }

  const push = nsPerOp((n) => {
    for (let i = 0; i < n; i++) producer.push(i & 0xffff)
    consumer.drain(keep)
  }, 100_000)

  const counter = nsPerOp((n) => { for (let i = 0; i < n; i++) inc(v.counters, 1) }, 1_000_000)

  const store = new HistogramStore(v)
  store.rotate(1)
  let x = 12345
  const record = nsPerOp((n) => {
    for (let i = 0; i < n; i++) {
      x = (x * 1103515245 + 12345) % 2147483648
      store.record(50 + (x % 30_000))
    }
    store.flush()
  }, 200_000)

  const ps = [50, 90, 95, 99, 99.9]
  const percentile = nsPerOp((n) => { for (let i = 0; i < n; i++) sink += Object.keys(valuesAt(store.cumulative, ps)).length }, 200)
  const encode = nsPerOp((n) => { for (let i = 0; i < n; i++) sink += encodeIntoCompressedBase64(store.cumulative).length }, 50)
  if (sink === -1) process.stdout.write('')

  return [
    { name: 'ring push + drain, per sample', unit: 'ns', values: push },
    { name: '64-bit counter inc (Atomics.add pair)', unit: 'ns', values: counter },
    { name: 'histogram record (lifetime + window + slice)', unit: 'ns', values: record },
    { name: 'percentile walk, 5 percentiles', unit: 'µs', values: percentile.map((n) => n / 1000) },
    { name: 'HDR compressed base64 encode', unit: 'µs', values: encode.map((n) => n / 1000) }
  ]
}

export const summary = (r: MicroResult): string => `${median(r.values).toFixed(r.unit === 'ns' ? 1 : 0)} ${r.unit}`
