import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import fc from 'fast-check'
import { decode, encode, newHistogram } from '../src/cli/hdr.js'
import { mergeHistograms } from '../src/cli/merge.js'
import { valuesAt } from '../src/worker/histograms.js'
import { exactQuantile, runCli, startServer } from './helpers.js'

const tmp = (name: string): string => join(tmpdir(), `podmeter-${process.pid}-${name}`)
const PERCENTILES = [0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100]

test('merge of encoded histograms = the histogram of all their samples (property)', () => {
  const samples = fc.array(fc.integer({ min: 1, max: 50_000_000 }), { minLength: 1, maxLength: 400 })
  fc.assert(fc.property(fc.array(samples, { minLength: 1, maxLength: 5 }), (parts) => {
    const encoded = parts.map((values) => {
      const h = newHistogram()
      for (const v of values) h.recordValue(v)
      return encode(h)
    })
    const merged = mergeHistograms(encoded.map((e, i) => decode(e, `part ${i}`)))
    const all = parts.flat()
    const union = newHistogram()
    for (const v of all) union.recordValue(v)
    assert.equal(merged.totalCount, all.length)
    assert.deepEqual(valuesAt(merged, PERCENTILES), valuesAt(union, PERCENTILES))
    const sorted = [...all].sort((a, b) => a - b)
    for (const p of PERCENTILES) {
      const exact = exactQuantile(sorted, p / 100)
      const hdr = valuesAt(merged, [p])[String(p)] as number
      assert.ok(hdr >= exact && hdr <= exact * 1.001 + 1, `p${p}: ${hdr} vs exact ${exact}`)
    }
  }), { numRuns: 60 })
})

test('podmeter merge adds load results and saved /stats/histogram answers; percentiles are not averaged', async () => {
  const pm = await startServer({ delayUs: 0 })
  try {
    const fast = tmp('merge-fast.json')
    const slow = tmp('merge-slow.json')
    for (const [file, delay] of [[fast, '1ms'], [slow, '30ms']]) {
      const r = await runCli(['load', '-q', '-n', '300', '-c', '4', `${pm.url}/?delay=${delay as string}`, '-o', file as string])
      assert.equal(r.code, 0, r.stderr)
    }
    const out = tmp('merged.json')
    const r = await runCli(['merge', '-p', '40,50,60', fast, slow, '-o', out])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /merged \(2\)\s+600\s/)
    const doc = JSON.parse(await readFile(out, 'utf8'))
    assert.equal(doc.latency_ms.count, 600)
    assert.deepEqual(doc.sources.map((s: { count: number }) => s.count), [300, 300])
    const results = await Promise.all([fast, slow].map(async (f) => JSON.parse(await readFile(f, 'utf8'))))
    const [f, s] = results.map((x) => x.latency_ms.e2e)
    assert.ok(doc.latency_ms.percentiles['40'] <= f.max, 'p40 of the fleet is one of the fast replica\'s answers')
    assert.ok(doc.latency_ms.percentiles['60'] >= s.min, 'p60 of the fleet is one of the slow replica\'s answers')
    assert.ok(doc.latency_ms.percentiles['40'] < (f.percentiles['50'] + s.percentiles['50']) / 2, 'not the mean of the p50s')
    // The merged histogram itself reads back, as a /stats/histogram-shaped file.
    const saved = tmp('saved-histogram.json')
    await writeFile(saved, JSON.stringify({ hdr: doc.hdr }))
    const again = await runCli(['merge', saved, '--histogram', 'server', slow])
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /merged \(2\)\s+900\s/)
  } finally {
    await pm.shutdown()
  }
})

test('an unreadable source stops the merge with exit 1', async () => {
  const bad = tmp('not-a-histogram.json')
  await writeFile(bad, JSON.stringify({ hdr: 'bm90IGEgaGlzdG9ncmFt' }))
  const r = await runCli(['merge', bad])
  assert.equal(r.code, 1)
  assert.match(r.stderr, /not a compressed base64 HdrHistogram/)
  const down = await runCli(['merge', '--timeout', '1s', 'http://127.0.0.1:1/'])
  assert.equal(down.code, 1)
  assert.match(down.stderr, /http:\/\/127\.0\.0\.1:1\/stats\/histogram: .*ECONNREFUSED|connect/)
})
