import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { test } from 'node:test'
import fc from 'fast-check'
import * as index from 'hdr-histogram-js'
import * as lib from '../../src/shared/hdr-lib.js'
import { create, type LayoutConfig } from '../../src/shared/layout.js'
import { HistogramStore } from '../../src/worker/histograms.js'

const cfg: LayoutConfig = { ringCapacity: 1024, lowestUs: 1, highestUs: 60_000_000, digits: 3, windowSeconds: 10 }

test('the classes are the index\'s own', () => {
  assert.equal(lib.JsHistogram, index.JsHistogram)
  assert.equal(lib.Float64Histogram, index.Float64Histogram)
  assert.equal(lib.Int32Histogram, index.Int32Histogram)
})

test('encodes exactly as the library\'s encodeIntoCompressedBase64, and decodes with it (property)', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 60_000_000 }), { maxLength: 200 }), (values) => {
    const store = new HistogramStore(create(cfg))
    const plain = new lib.Float64Histogram(cfg.lowestUs, cfg.highestUs, cfg.digits)
    for (const v of values) { store.record(v); plain.recordValue(v) }
    store.flush()
    for (const h of [store.cumulative, plain]) {
      const text = lib.encodeIntoCompressedBase64(h)
      assert.equal(text, index.encodeIntoCompressedBase64(h))
      assert.equal(lib.decodeFromCompressedBase64(text, 64, false).totalCount, values.length)
    }
  }), { numRuns: 30 })
})

// A fresh process: the test runner above has loaded the index already.
function loadedAfter (code: string): string[] {
  const script = `
    import { createRequire } from 'node:module'
    ${code}
    const cache = Object.keys(createRequire(import.meta.url).cache)
    process.stdout.write(JSON.stringify(cache.filter((f) => /node_modules\\/(hdr-histogram-js|pako|@assemblyscript)\\//.test(f)).map((f) => f.replace(/.*node_modules\\//, ''))))`
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as string[]
}
const src = (path: string): string => JSON.stringify(new URL(`../../src/${path}`, import.meta.url).href)

test('the main thread loads none of hdr-histogram-js; the worker neither its index, nor WebAssembly, nor the log writer; the encoder on first use', () => {
  assert.deepEqual(loadedAfter(`await import(${src('main/serve.js')})`), [])
  const heavy = (files: string[]): string[] => files.filter((f) => /dist\/(index|wasm\/|HistogramLog|Recorder)|^pako\/|@assemblyscript/.test(f))
  const serving = loadedAfter(`
    const { create } = await import(${src('shared/layout.js')})
    const { HistogramStore } = await import(${src('worker/histograms.js')})
    await import(${src('shared/hdr.js')})
    new HistogramStore(create(${JSON.stringify(cfg)})).record(250)`)
  assert.ok(serving.includes('hdr-histogram-js/dist/JsHistogram.js'), serving.join(' '))
  assert.deepEqual(heavy(serving), [])
  const encoded = loadedAfter(`
    const { create } = await import(${src('shared/layout.js')})
    const { HistogramStore } = await import(${src('worker/histograms.js')})
    const { encode } = await import(${src('shared/hdr.js')})
    const store = new HistogramStore(create(${JSON.stringify(cfg)}))
    store.record(250)
    store.flush()
    if (!encode(store.cumulative).startsWith('HISTF')) throw new Error('not an encoded histogram')`)
  assert.ok(encoded.includes('hdr-histogram-js/dist/JsHistogram.encoding.js'), encoded.join(' '))
  assert.deepEqual(heavy(encoded).filter((f) => !f.startsWith('pako/')), [])
})
