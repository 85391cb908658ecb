// GET / with `size`, `header` and `close`, over real sockets: the bodies
// asked for, counted exactly in request and response bytes (/stats, and
// /metrics in text and protobuf), the headers as asked, and connections
// that close when told to.

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { after, before, describe, test } from 'node:test'
import type { Running } from '../../src/main/serve.js'
import { decodeFamilies, PROTOBUF_ACCEPT, textSamples } from '../support/exposition.js'
import { getJson, rawExchange, request, runTool, startServer } from '../support/helpers.js'

const hasHey = ((): boolean => { try { execFileSync('which', ['hey'], { stdio: 'ignore' }); return true } catch { return false } })()
const get = (path: string, headers = ''): string => `GET ${path} HTTP/1.1\r\nHost: t\r\n${headers}\r\n`

interface Bytes { requests: number, samples: number, ok: number, aborted: number, requestBytes: number, responseBytes: number, unmeasured: number }

async function figures (url: string): Promise<Bytes> {
  const s = await getJson(`${url}/stats`)
  return { requests: s.requests, samples: s.samples, ok: s.status_codes['2xx'], aborted: s.status_codes.aborted, requestBytes: s.request_bytes, responseBytes: s.response_bytes, unmeasured: s.unmeasured_requests }
}

/** The byte counters of /metrics, in the text and the protobuf format. */
async function metricBytes (url: string): Promise<{ text: [number, number], proto: [number, number] }> {
  const text = textSamples((await request(`${url}/metrics`)).body)
  const r = await fetch(`${url}/metrics`, { headers: { accept: PROTOBUF_ACCEPT } })
  const families = decodeFamilies(Buffer.from(await r.arrayBuffer()))
  const counter = (name: string): number => families.find((f) => f.name === name)?.metric[0]?.counter?.value ?? Number.NaN
  return {
    text: [text.get('podmeter_request_bytes_total') as number, text.get('podmeter_response_bytes_total') as number],
    proto: [counter('podmeter_request_bytes_total'), counter('podmeter_response_bytes_total')]
  }
}

describe('GET /?size=', () => {
  let pm: Running
  before(async () => { pm = await startServer({ delayUs: 0 }) })
  after(async () => { await pm.shutdown() })

  test('hey -n 2000 -c 50 /?size=1k: counted exactly, 2000 × 1024 response bytes', { skip: hasHey ? false : 'hey is not installed (.ci/run installs it)' }, async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const hey = await runTool('hey', ['-n', '2000', '-c', '50', `${pm.url}/?size=1k`])
    assert.match(hey.stdout, /\[200\]\s+2000 responses/, hey.stdout)
    const f = await figures(pm.url)
    assert.deepEqual({ ...f, unmeasured: 0 }, { requests: 2000, samples: 2000, ok: 2000, aborted: 0, requestBytes: 0, responseBytes: 2000 * 1024, unmeasured: 0 })
    assert.deepEqual(await metricBytes(pm.url), { text: [0, 2_048_000], proto: [0, 2_048_000] })
  })

  test('the body is N bytes of octets with their Content-Length; units and MAX_SIZE itself', async () => {
    for (const [q, n] of [['size=0', 0], ['size=1', 1], ['size=1000', 1000], ['size=64KiB', 65_536], ['size=1.5k', 1536], ['size=1M', 1_048_576]] as const) {
      const r = await fetch(`${pm.url}/?${q}`)
      const body = Buffer.from(await r.arrayBuffer())
      assert.equal(r.status, 200)
      assert.equal(body.length, n, q)
      assert.equal(r.headers.get('content-length'), String(n))
      assert.equal(r.headers.get('content-type'), 'application/octet-stream')
      assert.match(r.headers.get('server-timing') ?? '', /^app;dur=\d+\.\d{3}$/)
    }
    const [a, b] = await Promise.all([fetch(`${pm.url}/?size=4k`), fetch(`${pm.url}/?size=100`)].map(async (p) => Buffer.from(await (await p).arrayBuffer())))
    assert.deepEqual(a?.subarray(0, 100), b, 'every size is a prefix of the same bytes')
  })

  test('plain, delay/status-only, sized, HEAD and 204 answers all add up to the bytes sent', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    let sent = 0
    for (let i = 0; i < 20; i++) sent += Buffer.byteLength((await request(`${pm.url}/`)).body)
    for (let i = 0; i < 10; i++) sent += Buffer.byteLength((await request(`${pm.url}/?delay=0&status=503`)).body)
    for (let i = 0; i < 10; i++) sent += (await (await fetch(`${pm.url}/?size=700&status=503`)).arrayBuffer()).byteLength
    const head = await request(`${pm.url}/?size=2k`, { method: 'HEAD' })
    assert.equal(head.headers['content-length'], '2048')
    assert.equal(head.body, '')
    const plainHead = await request(`${pm.url}/`, { method: 'HEAD' })
    assert.equal(plainHead.headers['content-length'], '3')
    const noContent = await request(`${pm.url}/?size=1k&status=204`)
    assert.equal(noContent.status, 204)
    assert.equal(noContent.headers['content-length'], undefined, 'a 204 has no body, whatever size says')
    assert.equal(sent, 20 * 3 + 10 * 20 + 10 * 700)
    const f = await figures(pm.url)
    assert.equal(f.requests, 43)
    assert.equal(f.samples, 43)
    assert.equal(f.responseBytes, sent)
    assert.equal(f.requestBytes, 0)
    assert.deepEqual((await metricBytes(pm.url)).text, [0, sent])
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const z = await figures(pm.url)
    assert.deepEqual([z.requests, z.requestBytes, z.responseBytes], [0, 0, 0], 'a reset zeroes the bytes too')
  })

  test('a weighted list of sizes: each answer one of them or the default body, the bytes exactly their sum', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const lengths = new Map<number, number>()
    let sent = 0
    for (let i = 0; i < 300; i++) {
      const r = await fetch(`${pm.url}/?size=1k:50,4KiB:30`)
      const n = (await r.arrayBuffer()).byteLength
      assert.equal(r.headers.get('content-type'), n === 3 ? 'text/plain; charset=utf-8' : 'application/octet-stream')
      lengths.set(n, (lengths.get(n) ?? 0) + 1)
      sent += n
    }
    assert.deepEqual([...lengths.keys()].sort((a, b) => a - b), [3, 1024, 4096], 'the remainder gets the default body')
    assert.equal((await figures(pm.url)).responseBytes, sent)
  })

  test('a client that leaves while sized answers wait behind a delay: aborted, no bytes', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    await rawExchange(Number(new URL(pm.url).port), async (s) => {
      s.write(get('/?delay=5s&size=1k').repeat(3))
      await new Promise((resolve) => setTimeout(resolve, 100))
      s.destroy()
    }, { responses: 0 })
    await new Promise((resolve) => setTimeout(resolve, 100))
    const f = await figures(pm.url)
    assert.deepEqual([f.requests, f.aborted, f.samples, f.responseBytes], [3, 3, 0, 0])
  })
})

describe('GET /?header= and ?close=', () => {
  let pm: Running
  let port: number
  before(async () => {
    pm = await startServer({ delayUs: 0 })
    port = Number(new URL(pm.url).port)
  })
  after(async () => { await pm.shutdown() })

  test('headers come back as asked, repeated ones on lines of their own, Content-Type replacing the default', async () => {
    const x = await rawExchange(port, get('/?header=X-Foo:Bar&header=X-Foo:%20again%20&header=Cache-Control:max-age%3D60&header=Content-Type:text/csv&size=10'))
    const raw = x.raw.toString('latin1')
    assert.match(raw, /\r\nX-Foo: Bar\r\nX-Foo: again\r\nCache-Control: max-age=60\r\n/)
    assert.equal((raw.match(/^content-type:/gim) ?? []).length, 1)
    assert.equal(x.responses[0]?.headers['content-type'], 'text/csv')
    assert.equal(x.responses[0]?.headers['content-length'], '10')
    const noContent = await rawExchange(port, get('/?header=X-A:1&status=204'))
    assert.equal(noContent.responses[0]?.headers['x-a'], '1')
    assert.match(noContent.responses[0]?.headers['server-timing'] ?? '', /^app;dur=/)
  })

  test('a refused header moves no counter and sends none of what was asked', async () => {
    const was = await figures(pm.url)
    const x = await rawExchange(port, get('/?header=X-A:1&header=X-B:a%0D%0AX-Injected:1'))
    assert.equal(x.responses[0]?.status, 400)
    assert.equal(x.responses[0]?.headers['x-a'], undefined)
    assert.equal(x.responses[0]?.headers['x-injected'], undefined)
    const now = await figures(pm.url)
    assert.deepEqual({ ...now, unmeasured: 0 }, { ...was, unmeasured: 0 })
    assert.equal(now.unmeasured, was.unmeasured + 2, 'the 400 and this /stats')
  })

  for (const spelling of ['1', 'true', '100']) {
    test(`close=${spelling}: Connection: close, and the connection closes after the answer`, async () => {
      // Two requests in one segment: only the first is answered.
      const x = await rawExchange(port, get(`/?close=${spelling}`) + get('/'), { responses: 1, close: true })
      assert.equal(x.closed, true)
      assert.equal(x.responses.length, 1)
      assert.equal(x.responses[0]?.headers.connection, 'close')
    })
  }

  test('close=0 and close=false keep the connection; close=50 closes some and not others', async () => {
    for (const spelling of ['0', 'false']) {
      const x = await rawExchange(port, get(`/?close=${spelling}`).repeat(2), { responses: 2 })
      assert.equal(x.closed, false)
      assert.equal(x.responses[0]?.headers.connection, 'keep-alive')
    }
    let closed = 0
    for (let i = 0; i < 100; i++) {
      const r = await request(`${pm.url}/?close=50`)
      if (r.headers.connection === 'close') closed++
    }
    assert.ok(closed > 0 && closed < 100, `${closed} of 100 closed`)
  })

  test('OPTIONS / lists the methods; DELETE / is refused with the same Allow; neither is measured', async () => {
    const was = await figures(pm.url)
    const o = await request(`${pm.url}/`, { method: 'OPTIONS' })
    assert.equal(o.status, 204)
    assert.equal(o.headers.allow, 'GET, HEAD, POST, PUT, OPTIONS')
    const d = await request(`${pm.url}/?size=1k`, { method: 'DELETE' })
    assert.equal(d.status, 405)
    assert.equal(d.headers.allow, 'GET, HEAD, POST, PUT, OPTIONS')
    assert.equal(JSON.parse(d.body).error.code, 'METHOD_NOT_ALLOWED')
    const now = await figures(pm.url)
    assert.equal(now.requests, was.requests)
    assert.equal(now.unmeasured, was.unmeasured + 3)
  })
})
