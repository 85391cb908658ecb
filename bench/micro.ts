// Micro-benchmarks of the pieces on and behind the hot path, in one thread:
// ring push and drain, histogram record, percentile walk, HDR encoding.
// Each figure is the median of several timed batches after a warm-up.

import { encodeIntoCompressedBase64 } from 'hdr-histogram-js'
import { scanHeaders } from '../src/main/headers.js'
import { RootQueryParser } from '../src/main/query.js'
import { parsePercentiles } from '../src/main/stats-query.js'
import { create, inc, type LayoutConfig } from '../src/shared/layout.js'
import { RingConsumer, RingProducer } from '../src/shared/ring.js'
import { valuesAt } from '../src/shared/hdr.js'
import { HistogramStore } from '../src/worker/histograms.js'
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
  // Hostile input: past the limits (32 list entries, 64 hops) the cost of a
  // parse or a scan stays flat, however large the input: up to the 16 KiB
  // node lets through, and for the hop scan far beyond it.
  const KIB16 = 16 * 1024
  const parser = new RootQueryParser(20_000, 10_000_000)
  const list32 = '/?delay=' + Array.from({ length: 32 }, () => '1ms:1').join(',')
  const list16k = '/?delay=' + '1ms:0.01,'.repeat(Math.ceil(KIB16 / 9)).slice(0, KIB16)
  // A fresh URL each time: the parser caches short URLs.
  const query = (url: string) => (n: number): void => { for (let i = 0; i < n; i++) sink += parser.parse(`${url}&n=${i}`) instanceof Error ? 1 : 0 }
  const query32 = nsPerOp(query(list32), 20_000)
  const query16k = nsPerOp(query(list16k), 20_000)
  const percentiles = (text: string) => (n: number): void => { for (let i = 0; i < n; i++) sink += parsePercentiles(text) instanceof Error ? 1 : 0 }
  const p32 = nsPerOp(percentiles(Array.from({ length: 32 }, (_, i) => String(i + 50)).join(',')), 100_000)
  const p16k = nsPerOp(percentiles('50,'.repeat(KIB16 / 3)), 100_000)
  const xff = (entries: number): string[] => ['Host', 'x', 'X-Forwarded-For', Array.from({ length: entries }, (_, i) => `10.0.${(i >> 8) & 255}.${i & 255}`).join(', ')]
  const scan = (raw: string[]) => (n: number): void => { for (let i = 0; i < n; i++) sink += scanHeaders(raw) }
  const scan64 = nsPerOp(scan(xff(64)), 200_000)
  const scanHuge = nsPerOp(scan(xff(100_000)), 200_000)
  if (sink === -1) process.stdout.write('')

  return [
    { name: 'ring push + drain, per sample', unit: 'ns', values: push },
    { name: '64-bit counter inc (Atomics.add pair)', unit: 'ns', values: counter },
    { name: 'histogram record (lifetime + window + slice)', unit: 'ns', values: record },
    { name: 'percentile walk, 5 percentiles', unit: 'µs', values: percentile.map((n) => n / 1000) },
    { name: 'HDR compressed base64 encode', unit: 'µs', values: encode.map((n) => n / 1000) },
    { name: 'GET / query parse, a delay list of 32 entries', unit: 'ns', values: query32 },
    { name: 'GET / query parse, a delay list of 16 KiB', unit: 'ns', values: query16k },
    { name: 'percentiles parse, 32 of them', unit: 'ns', values: p32 },
    { name: 'percentiles parse, 16 KiB of them', unit: 'ns', values: p16k },
    { name: 'header scan, X-Forwarded-For of 64 entries (MAX_HOPS)', unit: 'ns', values: scan64 },
    { name: 'header scan, X-Forwarded-For of 100,000 entries (1.4 MB)', unit: 'ns', values: scanHuge }
  ]
}

export const summary = (r: MicroResult): string => `${median(r.values).toFixed(r.unit === 'ns' ? 1 : 0)} ${r.unit}`
