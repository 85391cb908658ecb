// POST and PUT /: the body comes back byte for byte (by length and chunked),
// measured like GET / and counted exactly in request and response bytes,
// with MAX_SIZE refused as 413 before a byte is read, and every upload that
// does not arrive whole counted as aborted, never as a success. On one HTTP
// thread and, where Node has reusePort, on two.

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import http from 'node:http'
import { after, before, describe, test } from 'node:test'
import type { Running } from '../../src/main/serve.js'
import { reusePortWorks } from '../../src/shared/config.js'
import { decodeFamilies, PROTOBUF_ACCEPT, textSamples } from '../support/exposition.js'
import { getJson, rawExchange, request, runTool, sleep, startServer, tempFiles } from '../support/helpers.js'

const hasHey = ((): boolean => { try { execFileSync('which', ['hey'], { stdio: 'ignore' }); return true } catch { return false } })()
const file = tempFiles('echo')
const CAP = 256 * 1024

interface Figures { requests: number, samples: number, ok: number, errors: number, aborted: number, requestBytes: number, responseBytes: number }

async function figures (url: string): Promise<Figures> {
  const s = await getJson(`${url}/stats`)
  return { requests: s.requests, samples: s.samples, ok: s.status_codes['2xx'], errors: s.errors, aborted: s.status_codes.aborted, requestBytes: s.request_bytes, responseBytes: s.response_bytes }
}
const reset = async (url: string): Promise<void> => { assert.equal((await request(`${url}/stats/reset`, { method: 'POST' })).status, 200) }

interface Echoed { status: number, headers: http.IncomingHttpHeaders, body: Buffer }

/** Sends `body` with Content-Length, or in `chunks` pieces with Transfer-Encoding: chunked. */
async function send (url: string, body: Buffer, options: { method?: string, chunks?: number, headers?: Record<string, string> } = {}): Promise<Echoed> {
  return await new Promise((resolve, reject) => {
    const chunked = options.chunks !== undefined
    const req = http.request(url, {
      method: options.method ?? 'POST',
      agent: false,
      headers: { 'content-type': 'application/x-podmeter-test', ...(chunked ? {} : { 'content-length': String(body.length) }), ...options.headers }
    }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }))
      res.on('error', reject)
      res.on('close', () => { if (!res.complete) reject(new Error('the answer was cut')) })
    })
    req.on('error', reject)
    if (!chunked) { req.end(body); return }
    const n = options.chunks as number
    const step = Math.ceil(body.length / n)
    for (let at = 0; at < body.length; at += step) req.write(body.subarray(at, at + step))
    req.end()
  })
}

async function metricBytes (url: string): Promise<number[]> {
  const text = textSamples((await request(`${url}/metrics`)).body)
  const r = await fetch(`${url}/metrics`, { headers: { accept: PROTOBUF_ACCEPT } })
  const families = decodeFamilies(Buffer.from(await r.arrayBuffer()))
  const counter = (name: string): number => families.find((f) => f.name === name)?.metric[0]?.counter?.value ?? Number.NaN
  return [text.get('podmeter_request_bytes_total') as number, text.get('podmeter_response_bytes_total') as number, counter('podmeter_request_bytes_total'), counter('podmeter_response_bytes_total')]
}

const THREADS = reusePortWorks() ? [1, 2] : [1]

for (const httpThreads of THREADS) {
  describe(`POST / with HTTP_THREADS=${httpThreads}`, () => {
    let pm: Running
    before(async () => { pm = await startServer({ delayUs: 0, maxSize: CAP, httpThreads }) })
    after(async () => { await pm.shutdown() })

    test('hey -n 2000 -c 50 -m POST -D body.bin: counted exactly, requests, samples and bytes', { skip: hasHey ? false : 'hey is not installed (.ci/run installs it)' }, async () => {
      const body = randomBytes(4096)
      writeFileSync(file(`body-${httpThreads}.bin`), body)
      await reset(pm.url)
      const hey = await runTool('hey', ['-n', '2000', '-c', '50', '-m', 'POST', '-D', file(`body-${httpThreads}.bin`), `${pm.url}/`])
      assert.match(hey.stdout, /\[200\]\s+2000 responses/, hey.stdout)
      const s = await getJson(`${pm.url}/stats`)
      assert.equal(s.requests, 2000)
      assert.equal(s.samples, 2000)
      assert.equal(s.samples_dropped, 0)
      assert.equal(s.status_codes['2xx'], 2000)
      assert.equal(s.request_bytes, 2000 * 4096)
      assert.equal(s.response_bytes, 2000 * 4096)
      if (httpThreads > 1) {
        assert.equal(s.requests_by_http_thread.length, 2)
        assert.ok(s.requests_by_http_thread.every((n: number) => n > 0), `both threads served: ${String(s.requests_by_http_thread)}`)
      }
      assert.deepEqual(await metricBytes(pm.url), [2000 * 4096, 2000 * 4096, 2000 * 4096, 2000 * 4096])
    })

    test('bodies come back byte for byte, with their length or chunked, on POST and PUT', async () => {
      await reset(pm.url)
      let bytes = 0
      for (const size of [0, 1, 1000, 65_537, CAP]) {
        const body = randomBytes(size)
        const byLength = await send(`${pm.url}/`, body)
        assert.equal(byLength.status, 200)
        assert.ok(byLength.body.equals(body), `${size} bytes by length`)
        assert.equal(byLength.headers['content-length'], String(size))
        assert.equal(byLength.headers['content-type'], 'application/x-podmeter-test', 'the request\'s Content-Type comes back')
        assert.equal(byLength.headers['x-content-type-options'], 'nosniff')
        assert.equal(byLength.headers['content-security-policy'], 'sandbox')
        assert.match(String(byLength.headers['server-timing']), /^app;dur=\d+\.\d{3}$/)
        const chunked = await send(`${pm.url}/`, body, { method: 'PUT', chunks: 7 })
        assert.ok(chunked.body.equals(body), `${size} bytes chunked`)
        assert.equal(chunked.headers['transfer-encoding'], size === 0 ? undefined : 'chunked')
        bytes += 2 * size
      }
      const f = await figures(pm.url)
      assert.deepEqual(f, { requests: 10, samples: 10, ok: 10, errors: 0, aborted: 0, requestBytes: bytes, responseBytes: bytes })
    })

    test('the same query as GET: status, delay, size (the body read and dropped), header, close', async () => {
      await reset(pm.url)
      const body = randomBytes(50_000)
      const failed = await send(`${pm.url}/?status=503&delay=2ms`, body)
      assert.equal(failed.status, 503)
      assert.ok(failed.body.equals(body), 'echoed with the status asked for')
      const sized = await send(`${pm.url}/?size=100&header=X-A:1`, body, { chunks: 3 })
      assert.equal(sized.body.length, 100)
      assert.equal(sized.headers['content-type'], 'application/octet-stream')
      assert.equal(sized.headers['x-a'], '1')
      const empty = await send(`${pm.url}/?size=0`, body)
      assert.equal(empty.body.length, 0)
      const noContent = await send(`${pm.url}/?status=204&close=1`, body)
      assert.equal(noContent.status, 204)
      assert.equal(noContent.headers.connection, 'close')
      const typed = await send(`${pm.url}/?header=Content-Type:text/html`, Buffer.from('<b>x</b>'))
      assert.equal(typed.headers['content-type'], 'text/html')
      assert.equal(typed.headers['content-security-policy'], 'sandbox', 'an echoed body never runs as a page of this origin')
      const f = await figures(pm.url)
      assert.deepEqual(f, { requests: 5, samples: 5, ok: 4, errors: 1, aborted: 0, requestBytes: 4 * 50_000 + 8, responseBytes: 50_000 + 100 + 8 })
    })

    test('Server-Timing is the very sample the histograms hold, for the echo and for size=', async () => {
      for (const q of ['?delay=1ms', '?size=10&delay=1ms']) {
        await reset(pm.url)
        const r = await send(`${pm.url}/${q}`, randomBytes(100_000), { chunks: 5 })
        assert.equal(r.status, 200)
        const ms = Number(/^app;dur=(\d+\.\d{3})$/.exec(String(r.headers['server-timing']))?.[1])
        const s = await getJson(`${pm.url}/stats`)
        assert.equal(s.samples, 1)
        assert.equal(s.min_latency_ms, ms, q)
        assert.equal(s.max_latency_ms, ms, q)
      }
    })

    test('over MAX_SIZE: 413 BODY_TOO_LARGE before the body (and before 100 Continue), not measured', async () => {
      await reset(pm.url)
      const port = Number(new URL(pm.url).port)
      for (const headers of ['', 'Expect: 100-continue\r\n']) {
        const x = await rawExchange(port, `POST / HTTP/1.1\r\nHost: t\r\n${headers}Content-Length: ${CAP + 1}\r\n\r\n`, { close: true })
        assert.deepEqual(x.responses.map((r) => r.status), [413], 'no 100 first')
        const error = JSON.parse(x.responses[0]?.body ?? '{}').error
        assert.equal(error.code, 'BODY_TOO_LARGE')
        assert.match(error.message, /MAX_SIZE \(256 KiB\)/)
        assert.equal(x.responses[0]?.headers.connection, 'close')
      }
      // A chunked body that passes the cap before any answer: 413 too.
      const sized = await send(`${pm.url}/?size=10`, randomBytes(CAP + 10), { chunks: 4 })
      assert.equal(sized.status, 413)
      assert.equal(JSON.parse(sized.body.toString()).error.code, 'BODY_TOO_LARGE')
      const f = await figures(pm.url)
      assert.deepEqual(f, { requests: 0, samples: 0, ok: 0, errors: 0, aborted: 0, requestBytes: 0, responseBytes: 0 })
    })

    test('a chunked echo that passes MAX_SIZE once under way is cut, and counted as aborted', async () => {
      await reset(pm.url)
      const cut = await send(`${pm.url}/`, randomBytes(CAP + 100_000), { chunks: 40 }).then(() => 'answered', () => 'cut')
      assert.equal(cut, 'cut')
      await sleep(50)
      const f = await figures(pm.url)
      assert.deepEqual([f.requests, f.aborted, f.samples, f.ok, f.responseBytes], [1, 1, 0, 0, 0])
      assert.ok(f.requestBytes > CAP - 100_000 && f.requestBytes <= CAP + 100_000, `what it read before the cut: ${f.requestBytes}`)
    })

    test('an upload that stops halfway is aborted, never a success; what arrived counts in request_bytes', async () => {
      await reset(pm.url)
      const port = Number(new URL(pm.url).port)
      // The echo (reading as it answers), size= (reading from the start), and
      // an echo still in its delay, which has not read a byte yet.
      for (const q of ['', '?size=0', '?delay=5s']) {
        await rawExchange(port, async (s) => { s.end(`POST /${q} HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n${'y'.repeat(400)}`) }, { responses: 0, close: true })
      }
      await sleep(50)
      const f = await figures(pm.url)
      assert.deepEqual(f, { requests: 3, samples: 0, ok: 0, errors: 3, aborted: 3, requestBytes: 2 * 400, responseBytes: 0 })
      const s = await getJson(`${pm.url}/stats`)
      assert.equal(s.requests_refused['400'], 0, 'a broken body is its request\'s end, not a refusal as well')
    })

    test('pipelined uploads behind a delayed GET are answered in order, or all aborted when the client leaves', async () => {
      await reset(pm.url)
      const port = Number(new URL(pm.url).port)
      const post = (body: string): string => `POST / HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.length}\r\n\r\n${body}`
      const x = await rawExchange(port, 'GET /?delay=20ms HTTP/1.1\r\nHost: t\r\n\r\n' + post('first') + post('second'), { responses: 3 })
      assert.deepEqual(x.responses.map((r) => r.body), ['OK\n', 'first', 'second'])
      await rawExchange(port, async (s) => {
        s.write('GET /?delay=5s HTTP/1.1\r\nHost: t\r\n\r\n' + post('third') + post('fourth'))
        await sleep(100)
        s.destroy()
      }, { responses: 0 })
      await sleep(50)
      const f = await figures(pm.url)
      assert.deepEqual(f, { requests: 6, samples: 3, ok: 3, errors: 3, aborted: 3, requestBytes: 5 + 6 + 5 + 6, responseBytes: 3 + 5 + 6 })
    })
  })
}
