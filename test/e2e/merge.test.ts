import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { test } from 'node:test'
import fc from 'fast-check'
import { decode, encode, newHistogram, sumOf, valuesAt } from '../../src/shared/hdr.js'
import { exactQuantile, getJson, load, runCli, startServer, tempFiles } from '../support/helpers.js'

// Every file a test writes, in one directory removed when the file ends.
const tmp = tempFiles('merge')
const PERCENTILES = [0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100]

test('merge of encoded histograms = the histogram of all their samples (property)', () => {
  const samples = fc.array(fc.integer({ min: 1, max: 50_000_000 }), { minLength: 1, maxLength: 400 })
  fc.assert(fc.property(fc.array(samples, { minLength: 1, maxLength: 5 }), (parts) => {
    const encoded = parts.map((values) => {
      const h = newHistogram()
      for (const v of values) h.recordValue(v)
      return encode(h)
    })
    const merged = sumOf(encoded.map((e, i) => decode(e, `part ${i}`)))
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
      const r = await runCli(['load', '-q', '--warmup', '0', '-n', '300', '-c', '4', `${pm.url}/?delay=${delay as string}`, '-o', file as string])
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

test('podmeter merge of two real servers = the histogram of all their samples', async () => {
  const [a, b] = await Promise.all([startServer({ delayUs: 0 }), startServer({ delayUs: 0 })])
  try {
    await Promise.all([load(`${a.url}/?delay=1ms:70,3ms:30`, 700, 10), load(`${b.url}/?delay=20ms`, 300, 20)])
    const out = tmp('merged-servers.json')
    const r = await runCli(['merge', '-p', '50,69,71,99', a.url, `${b.url}/stats/histogram`, '-o', out])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /merged \(2\)\s+1,000\s/)
    const doc = JSON.parse(await readFile(out, 'utf8'))
    const [sa, sb] = await Promise.all([getJson(`${a.url}/stats`), getJson(`${b.url}/stats`)])
    assert.equal(doc.latency_ms.count, sa.samples + sb.samples)
    assert.equal(doc.latency_ms.count, 1000)
    assert.equal(doc.latency_ms.min, Math.min(sa.min_latency_ms, sb.min_latency_ms), 'exact min from the replicas')
    assert.equal(doc.latency_ms.max, Math.max(sa.max_latency_ms, sb.max_latency_ms), 'exact max from the replicas')
    // Bucket by bucket, the sum equals what the two servers list of their own samples.
    const union = new Map<number, number>()
    for (const url of [a.url, b.url]) {
      const h = await getJson(`${url}/stats/histogram`)
      for (const row of h.distribution as Array<{ from_us: number, count: number }>) union.set(row.from_us, (union.get(row.from_us) ?? 0) + row.count)
    }
    const merged = decode(doc.hdr, 'merged')
    const buckets = new Map<number, number>()
    for (let i = 0; i < merged.countsArrayLength; i++) {
      const c = merged.getCountAtIndex(i)
      if (c > 0) buckets.set(merged.lowestEquivalentValue(merged.valueFromIndex(i)), c)
    }
    assert.deepEqual([...buckets].sort((x, y) => x[0] - y[0]), [...union].sort((x, y) => x[0] - y[0]))
    // 700 fast samples and 300 slow ones: p69 is a fast one, p71 a slow one. An average of p50s would be neither.
    assert.ok(doc.latency_ms.percentiles['69'] <= sa.max_latency_ms, `p69 ${doc.latency_ms.percentiles['69']}`)
    assert.ok(doc.latency_ms.percentiles['71'] >= sb.min_latency_ms, `p71 ${doc.latency_ms.percentiles['71']}`)
  } finally {
    await Promise.all([a.shutdown(), b.shutdown()])
  }
})
