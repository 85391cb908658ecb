// The dashboard in a real browser (Debian's Chromium, headless): after some
// load its charts hold data, the console stays clean, and request headers and
// pod labels carrying markup show as text and never run. A screenshot goes to
// test-artifacts/dashboard.png.

import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import type { Running } from '../../src/main/serve.js'
import { launchChromium } from '../support/browser.js'
import { load, ROOT, sleep, startServer, waitFor, writePodInfo } from '../support/helpers.js'

// Markup in a request header (shown in the page's own-request panel) and in a
// pod label (shown in the mesh evidence).
const HEADER_SCRIPT = '<script>window.__pwned = "header script"</script>'
const HEADER_IMG = '"><img src=x onerror="window.__pwned = \'header img\'">'
const LABEL_IMG = '<img src=x onerror=window.__pwned=1><b>label</b>'

let pm: Running
let browser: Browser
let page: Page
let podinfo: string
const problems: string[] = []

before(async () => {
  podinfo = mkdtempSync(join(tmpdir(), 'podmeter-dashboard-'))
  writePodInfo(join(podinfo, 'podinfo'), { labels: `app="podmeter"\nistio.io/dataplane-mode="${LABEL_IMG}"\n`, annotations: '' })
  pm = await startServer({ delayUs: 0, meshRefreshMs: 200, podinfoDir: join(podinfo, 'podinfo') })
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1280, height: 1500 } })
  await page.setExtraHTTPHeaders({ 'x-payload': HEADER_SCRIPT, 'x-request-id': HEADER_IMG })
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`) })
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`))
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} for ${r.url()}`) })
})

after(async () => {
  await browser?.close()
  await pm?.shutdown()
  rmSync(podinfo, { recursive: true, force: true })
})

// Evaluated in the page; strings, since the test code is compiled without the DOM's types.
const chartData = `(() => {
  const h = window.__podmeter
  const col = (chart, i) => h.charts[chart].data[i] ?? []
  const some = (a) => a.some((v) => typeof v === 'number' && v > 0)
  return {
    updates: h.updates,
    failures: h.failures,
    rate: some(col('rate', 1)),
    p50: some(col('latency', 1)),
    p999: some(col('latency', 3)),
    spectrumPoints: col('spectrum', 0).length,
    rss: some(col('memory', 1))
  }
})()`

test('after some load the charts hold data, with no error in the console', async () => {
  await page.goto(`${pm.url}/dashboard`)
  // About 3 s of load with a few slow and failing requests, over several polls.
  const until = Date.now() + 3000
  while (Date.now() < until) {
    await load(`${pm.url}/?delay=1ms:20,5ms:2&status=503:5`, 200, 4)
    await sleep(100)
  }
  type Data = { updates: number, failures: string[], rate: boolean, p50: boolean, p999: boolean, spectrumPoints: number, rss: boolean }
  await waitFor('every chart to hold data', async () => {
    const d = await page.evaluate<Data>(chartData)
    return d.rate && d.p50 && d.p999 && d.spectrumPoints > 10 && d.rss
  }, 10_000)
  const d = await page.evaluate<Data>(chartData)
  assert.deepEqual(d.failures, [])
  assert.ok(d.updates >= 3, `updates ${d.updates}`)

  const tiles = await page.evaluate<string[]>('["t-p50", "t-p99", "t-errors", "t-mode"].map((id) => document.getElementById(id).textContent)')
  assert.match(tiles[0] as string, /^\d+(\.\d+)? (µs|ms)$/)
  assert.equal(tiles[3], 'none')
  const totals = await page.textContent('#totals')
  assert.match(totals ?? '', /5xx [1-9]/, 'the 503s are counted')

  // The other range of the spectrum.
  await page.click('#range-window')
  await waitFor('the spectrum of the last seconds', async () => /in the last \d+ s/.test(await page.textContent('#spectrum-note') ?? ''), 5000)

  mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true })
  await page.screenshot({ path: join(ROOT, 'test-artifacts/dashboard.png'), fullPage: true })
  assert.deepEqual(problems, [])
})

test('markup from request headers and pod labels shows as text and never runs', async () => {
  await waitFor('the headers panel', async () => (await page.textContent('#headers') ?? '').includes('x-payload'), 12_000)
  const headers = await page.textContent('#headers') ?? ''
  assert.ok(headers.includes(HEADER_SCRIPT), headers)
  assert.ok(headers.includes(HEADER_IMG), headers)
  await waitFor('the label in the evidence', async () => (await page.textContent('#mesh-evidence') ?? '').includes(LABEL_IMG), 5000)

  const dom = await page.evaluate<{ pwned: unknown, imgs: number, inlineScripts: number, bold: number }>(`({
    pwned: window.__pwned,
    imgs: document.querySelectorAll('img').length,
    inlineScripts: [...document.querySelectorAll('script')].filter((s) => !s.src).length,
    bold: document.querySelectorAll('b').length
  })`)
  assert.deepEqual(dom, { pwned: undefined, imgs: 0, inlineScripts: 0, bold: 0 })
  assert.deepEqual(problems, [])
})
