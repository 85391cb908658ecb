// A state-changing route acts only on a whole, well-framed request: a body
// that fails to parse or never arrives leaves the counters and the worker as
// they were. Raw sockets, so that the bodies can be broken on purpose.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Running } from '../../src/main/serve.js'
import { getJson, rawExchange, startServer } from '../support/helpers.js'

let pm: Running
let port: number
before(async () => {
  pm = await startServer({ delayUs: 0, faults: true })
  port = Number(new URL(pm.url).port)
})
after(async () => { await pm.shutdown() })

const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`
const post = (path: string, headers: string, body = ''): string => `POST ${path} HTTP/1.1\r\nHost: t\r\n${headers}\r\n${body}`

/** Measures `n` requests, so that a reset would show. */
async function measure (n: number): Promise<void> {
  await rawExchange(port, get('/?delay=0').repeat(n), { responses: n })
}

async function counts (): Promise<{ requests: number, samples: number }> {
  const s = await getJson(`${pm.url}/stats`)
  return { requests: s.requests, samples: s.samples + s.samples_dropped }
}

test('POST /stats/reset with a malformed chunked body: 400, and nothing is reset', async () => {
  await measure(5)
  const was = await counts()
  assert.ok(was.requests >= 5)
  const x = await rawExchange(port, post('/stats/reset', 'Transfer-Encoding: chunked\r\n', 'zz\r\n'), { close: true })
  assert.deepEqual(x.responses.map((r) => r.status), [400])
  assert.equal(JSON.parse(x.responses[0]?.body ?? '{}').error.code, 'BAD_REQUEST')
  assert.deepEqual(await counts(), was)
})

test('POST /stats/reset whose body never arrives in full: nothing is reset', async () => {
  await measure(3)
  const was = await counts()
  const x = await rawExchange(port, async (s) => { s.end(post('/stats/reset', 'Content-Length: 10\r\n', 'abc')) }, { responses: 0, close: true })
  assert.ok(!x.responses.some((r) => r.status === 200), 'never answered as a reset')
  assert.deepEqual(await counts(), was)
})

test('POST /stats/reset with a well-framed body (chunked, or by length) resets once it has arrived', async () => {
  for (const [headers, body] of [['Transfer-Encoding: chunked\r\n', '5\r\nhello\r\n0\r\n\r\n'], ['Content-Length: 5\r\n', 'hello']] as const) {
    await measure(2)
    const x = await rawExchange(port, post('/stats/reset', headers, body))
    assert.deepEqual(x.responses.map((r) => r.status), [200])
    assert.deepEqual(JSON.parse(x.responses[0]?.body ?? '{}'), { reset: true })
    assert.deepEqual(await counts(), { requests: 0, samples: 0 })
  }
})

test('a bodyless reset acts at once: a GET pipelined behind it is counted after it', async () => {
  await measure(4)
  const x = await rawExchange(port, post('/stats/reset', 'Content-Length: 0\r\n') + get('/?delay=0'), { responses: 2 })
  assert.deepEqual(x.responses.map((r) => r.status), [200, 200])
  assert.deepEqual(await counts(), { requests: 1, samples: 1 })
})

test('the fault route with a malformed body takes no fault; a well-framed one does', async () => {
  // A stall that was taken would hold the one worker for 60 s: /stats would answer 503.
  const x = await rawExchange(port, post('/debug/worker/crash?mode=stall&ms=60000', 'Transfer-Encoding: chunked\r\n', 'zz\r\n'), { close: true })
  assert.deepEqual(x.responses.map((r) => r.status), [400])
  const s = await getJson(`${pm.url}/stats`)
  assert.equal(typeof s.requests, 'number', '/stats still answers: the worker is not stalled')
  const ok = await rawExchange(port, post('/debug/worker/crash?mode=stall&ms=1', 'Transfer-Encoding: chunked\r\n', '2\r\nok\r\n0\r\n\r\n'))
  assert.deepEqual(ok.responses.map((r) => r.status), [202])
  assert.deepEqual(JSON.parse(ok.responses[0]?.body ?? '{}'), { fault: 'stall', ms: 1 })
})
