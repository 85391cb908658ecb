// The strict edges of HTTP/1.1, over raw sockets: what a server must refuse
// (RFC 9112: no HTTP/0.9, one valid Host, no transfer coding but chunked)
// and what it must not send (RFC 9110: no body, no Content-Length on 204 and
// 304). Each refusal is a JSON 400 with its code, closes the connection, is
// counted in requests_refused and nowhere else: requests and samples before
// and after are equal.

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Running } from '../../src/main/serve.js'
import { getJson, rawExchange, sleep, startServer, type Exchange } from '../support/helpers.js'

let pm: Running
let port: number
before(async () => {
  pm = await startServer({ delayUs: 0 })
  port = Number(new URL(pm.url).port)
})
after(async () => { await pm.shutdown() })

interface Figures { requests: number, samples: number, unmeasured: number, refused400: number }
async function figures (): Promise<Figures> {
  const s = await getJson(`${pm.url}/stats`)
  return { requests: s.requests, samples: s.samples + s.samples_dropped, unmeasured: s.unmeasured_requests, refused400: s.requests_refused['400'] }
}

const get = (path: string, headers = ''): string => `GET ${path} HTTP/1.1\r\nHost: t\r\n${headers}\r\n`

describe('204 and 304: no body, no Content-Length', () => {
  for (const status of [204, 304]) {
    test(`?status=${status}, then a pipelined GET on the same connection`, async () => {
      const was = await figures()
      const x = await rawExchange(port, get(`/?status=${status}`) + get('/?delay=0'), { responses: 2 })
      assert.deepEqual(x.responses.map((r) => r.status), [status, 200])
      const first = x.responses[0] as Exchange['responses'][number]
      assert.equal(first.headers['content-length'], undefined)
      assert.equal(first.headers['transfer-encoding'], undefined)
      assert.equal(first.headers['content-type'], undefined)
      assert.match(first.headers['server-timing'] ?? '', /^app;dur=\d+\.\d{3}$/)
      // Not one byte between the 204's head and the next status line.
      const text = x.raw.toString('latin1')
      assert.equal(text.indexOf('HTTP/1.1', 1), text.indexOf('\r\n\r\n') + 4, 'no body after the head')
      assert.equal(x.responses[1]?.body, 'OK\n')
      const now = await figures()
      assert.equal(now.requests - was.requests, 2, 'both measured')
      assert.equal(now.samples - was.samples, 2)
    })
  }

  test('HEAD ?status=204 and a weighted list that includes 304', async () => {
    const x = await rawExchange(port, 'HEAD /?status=204 HTTP/1.1\r\nHost: t\r\n\r\n' + get('/?status=304:100'), { responses: 2, head: true })
    assert.deepEqual(x.responses.map((r) => r.status), [204, 304])
    for (const r of x.responses) assert.equal(r.headers['content-length'], undefined)
  })
})

interface Refusal {
  name: string
  send: string
  /** Statuses before the 400, answered and measured (a request ahead of the refused one). */
  before?: number[]
  /** Words the message must have. */
  says: RegExp
}

const TE = (value: string, rest = ''): string => `POST /stats/reset HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: ${value}\r\n\r\n${rest}`
const REFUSALS: Refusal[] = [
  // llhttp reads both as HTTP/0.9, on Node 20 and 24 alike.
  { name: 'a request line without a version', send: 'GET /\r\n\r\n', says: /HTTP\/0\.9/ },
  { name: 'a request line without a version, with headers', send: 'GET /?delay=0\r\nHost: t\r\n\r\n', says: /HTTP\/0\.9/ },
  { name: 'HTTP/0.9', send: 'GET / HTTP/0.9\r\n\r\n', says: /HTTP\/0\.9/ },
  { name: 'HTTP/0.9 on the slow path', send: 'GET /stats HTTP/0.9\r\nHost: t\r\n\r\n', says: /HTTP\/0\.9/ },
  { name: 'HTTP/2.0 in HTTP/1 syntax', send: 'GET / HTTP/2.0\r\nHost: t\r\n\r\n', says: /HTTP\/2\.0/ },
  { name: 'no Host on HTTP/1.1', send: 'GET / HTTP/1.1\r\n\r\n', says: /needs a Host/ },
  { name: 'two Host headers', send: 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', says: /one Host/ },
  { name: 'the same Host twice', send: 'GET /?delay=0 HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n', says: /one Host/ },
  { name: 'two Host headers on HTTP/1.0', send: 'GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n', says: /one Host/ },
  { name: 'two Host headers on /stats', send: 'GET /stats HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', says: /one Host/ },
  { name: 'two Host headers with a bad query', send: 'GET /?delay=abc HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', says: /one Host/ },
  { name: 'two Host headers on a kubelet probe', send: 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nUser-Agent: kube-probe/1.31\r\n\r\n', says: /one Host/ },
  { name: 'Host: a b', send: 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n', says: /not a host\[:port\]/ },
  { name: 'Host with a path', send: 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n', says: /not a host/ },
  { name: 'Host with userinfo', send: 'GET / HTTP/1.1\r\nHost: u@a\r\n\r\n', says: /not a host/ },
  { name: 'Host with markup', send: 'GET / HTTP/1.1\r\nHost: <script>\r\n\r\n', says: /not a host/ },
  { name: 'Host with a bad port', send: 'GET /livez HTTP/1.1\r\nHost: a:80x\r\n\r\n', says: /not a host/ },
  // Transfer codings: llhttp lets these through to the handler (the body would swallow the connection).
  { name: 'Transfer-Encoding: xchunked, a body and a pipelined GET', send: TE('xchunked', '3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n'), says: /Transfer-Encoding "xchunked" is not served/ },
  { name: 'Transfer-Encoding: xchunked on GET /, no body', send: 'GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n', says: /xchunked/ },
  { name: 'Transfer-Encoding: gzip', send: TE('gzip', 'abc'), says: /"gzip"/ },
  { name: 'Transfer-Encoding: gzip, chunked', send: TE('gzip, chunked', '3\r\nabc\r\n0\r\n\r\n'), says: /"gzip, chunked"/ },
  // These llhttp refuses itself (Node 24 the empty one too, Node 20 lets it through): the same answer either way.
  { name: 'Transfer-Encoding empty, with Content-Length: 0', send: 'GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: \r\nContent-Length: 0\r\n\r\n', says: /Transfer-Encoding.* is not served/ },
  { name: 'Transfer-Encoding: chunked, gzip', send: TE('chunked, gzip', 'abc'), says: /Transfer-Encoding is not served/ },
  { name: 'Transfer-Encoding: chunked on two lines', send: 'POST /stats/reset HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', says: /Transfer-Encoding.* is not served/ },
  // What the client pipelines after a refused request is never served, so never counted.
  { name: 'a bad Host, then a pipelined GET', send: 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n' + get('/?delay=0') + get('/stats/reset'), says: /not a host/ },
  { name: 'a delayed GET, a bad Host, a GET: the first answered in order', send: get('/?delay=30ms') + 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n' + get('/?delay=0'), before: [200], says: /not a host/ }
]

describe('refused at the edge: 400 BAD_REQUEST, closed, counted as refused and nothing else', () => {
  for (const row of REFUSALS) {
    test(row.name, async () => {
      // Something measured first, so that a reset or a lost count would show.
      await rawExchange(port, get('/?delay=0'))
      const was = await figures()
      const ahead = row.before ?? []
      const x = await rawExchange(port, row.send, { responses: ahead.length + 1, close: true })
      assert.deepEqual(x.responses.map((r) => r.status), [...ahead, 400])
      assert.ok(x.closed, 'the connection is closed')
      const last = x.responses.at(-1) as Exchange['responses'][number]
      assert.match(last.headers['content-type'] ?? '', /^application\/json/)
      assert.equal(last.headers.connection, 'close')
      const body = JSON.parse(last.body) as { error: { code: string, message: string } }
      assert.equal(body.error.code, 'BAD_REQUEST')
      assert.match(body.error.message, row.says)
      assert.ok(!/[<>]/.test(last.body))
      const now = await figures()
      assert.equal(now.requests - was.requests, ahead.length, 'requests: only what was answered ahead of it')
      assert.equal(now.samples - was.samples, ahead.length, 'samples likewise')
      assert.equal(now.unmeasured - was.unmeasured, 1, 'not in unmeasured_requests either (the one is this /stats)')
      assert.equal(now.refused400 - was.refused400, 1, 'one refusal, counted once')
    })
  }
})

describe('still served', () => {
  const served: Array<[string, string]> = [
    ['an empty Host (RFC 9112 3.2: valid)', 'GET / HTTP/1.1\r\nHost: \r\n\r\n'],
    ['an IPv6 literal with a port', 'GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n'],
    ['a name with an empty port', 'GET / HTTP/1.1\r\nHost: podmeter.bench:\r\n\r\n'],
    ['percent-encoding and sub-delims in a reg-name', "GET / HTTP/1.1\r\nHost: a%2Db!$&'()*+,;=~_.c:80\r\n\r\n"],
    ['HTTP/1.0 without Host (ab)', 'GET /?delay=0 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'],
    ['Transfer-Encoding: Chunked (any case), with a body', 'GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n']
  ]
  for (const [name, send] of served) {
    test(name, async () => {
      const was = await figures()
      const x = await rawExchange(port, send + get('/?delay=0'), { responses: 2 })
      assert.deepEqual(x.responses.map((r) => r.status), [200, 200])
      const now = await figures()
      assert.equal(now.requests - was.requests, 2)
      assert.equal(now.refused400, was.refused400)
    })
  }

  test('a client that keeps sending after a refusal still reads the 400', async () => {
    const x = await rawExchange(port, async (s) => {
      s.write(TE('xchunked'))
      for (let i = 0; i < 20 && s.writable; i++) { s.write('x'.repeat(1000)); await sleep(5) }
    }, { close: true })
    assert.equal(x.responses[0]?.status, 400)
  })
})
