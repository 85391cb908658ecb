// The strict edges of HTTP/1.1, over raw sockets: what a server must refuse
// (RFC 9112: no HTTP/0.9, one valid Host, no transfer coding but chunked)
// and what it must not send (RFC 9110: no body, no Content-Length on 204 and
// 304). Each refusal is a JSON 400 with its code, closes the connection, is
// counted in requests_refused and nowhere else: requests and samples before
// and after are equal.

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Running } from '../../src/main/serve.js'
import { getJson, rawExchange, startServer, type Exchange } from '../support/helpers.js'

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
