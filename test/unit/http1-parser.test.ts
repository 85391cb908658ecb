import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { ParseError, ResponseParser } from '../../src/cli/http1-parser.js'

interface Seen { status: number, timing: string | undefined, body: number, close: boolean }

/** Feeds `text` in the pieces `cuts` makes; returns every response read, and whether the input ended mid-response. */
function parse (text: string, options: { head?: boolean, cuts?: number[], eof?: boolean } = {}): { seen: Seen[], idle: boolean } {
  const seen: Seen[] = []
  let cur: Seen | undefined
  const p = new ResponseParser({
    onHead: (status, timing) => { cur = { status, timing, body: 0, close: false } },
    onBody: (n) => { (cur as Seen).body += n },
    onEnd: (close) => { (cur as Seen).close = close; seen.push(cur as Seen); cur = undefined }
  }, options.head ?? false)
  const buf = Buffer.from(text, 'latin1')
  const cuts = [0, ...(options.cuts ?? []).filter((c) => c > 0 && c < buf.length).sort((a, b) => a - b), buf.length]
  for (let i = 1; i < cuts.length; i++) p.execute(buf.subarray(cuts[i - 1], cuts[i]))
  if (options.eof === true) p.finish()
  return { seen, idle: p.idle }
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nServer-Timing: app;dur=0.012\r\n\r\nOK\n'
const CHUNKED = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n'

test('Content-Length, chunked and pipelined responses, however the bytes are cut', () => {
  const text = OK + CHUNKED + 'HTTP/1.1 204 No Content\r\n\r\n' + OK
  const want = [
    { status: 200, timing: 'app;dur=0.012', body: 3, close: false },
    { status: 200, timing: undefined, body: 15, close: false },
    { status: 204, timing: undefined, body: 0, close: false },
    { status: 200, timing: 'app;dur=0.012', body: 3, close: false }
  ]
  assert.deepEqual(parse(text).seen, want)
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: text.length - 1 }), { maxLength: 12 }), (cuts) => {
    const r = parse(text, { cuts })
    assert.deepEqual(r.seen, want)
    assert.equal(r.idle, true)
  }), { numRuns: 300 })
  // One byte at a time.
  assert.deepEqual(parse(text, { cuts: Array.from({ length: text.length }, (_, i) => i) }).seen, want)
})

test('what decides the length: HEAD, 1xx, 304, close and HTTP/1.0', () => {
  assert.deepEqual(parse('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n' + OK, { head: true }).seen.map((s) => s.body), [0, 0], 'no body after a HEAD request')
  assert.deepEqual(parse('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n' + OK).seen.map((s) => s.status), [200], 'interim responses skipped')
  assert.deepEqual(parse('HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n').seen[0]?.body, 0)
  assert.equal(parse('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nOK\n').seen[0]?.close, true)
  assert.equal(parse('HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nOK\n').seen[0]?.close, true, 'HTTP/1.0 closes by default')
  assert.equal(parse('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nOK\n').seen[0]?.close, false)
  assert.equal(parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n0\r\n\r\n').seen[0]?.body, 0, 'Transfer-Encoding wins over Content-Length')
  assert.equal(parse('HTTP/1.1 200 OK\r\nServer-Timing: edge;dur=1\r\nServer-Timing: app;dur=2\r\nContent-Length: 0\r\n\r\n').seen[0]?.timing, 'edge;dur=1, app;dur=2', 'repeated lines joined')
})

test('a body read until the server closes ends only at the close', () => {
  const open = parse('HTTP/1.1 200 OK\r\n\r\nsome bytes')
  assert.equal(open.seen.length, 0)
  assert.equal(open.idle, false)
  const closed = parse('HTTP/1.1 200 OK\r\n\r\nsome bytes', { eof: true })
  assert.deepEqual(closed.seen, [{ status: 200, timing: undefined, body: 10, close: true }])
  assert.equal(parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc', { eof: true }).seen[0]?.body, 3, 'a coding other than chunked: until close')
})

test('malformed responses throw ParseError, and a response cut short by the close does too', () => {
  const bad = [
    'HTTP/2 200 OK\r\n\r\n',
    'HTTP/1.1 20 OK\r\n\r\n',
    'ICY 200 OK\r\n\r\n',
    'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n',
    'HTTP/1.1 200 OK\r\n folded: header\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY',
    'HTTP/1.1 101 Switching Protocols\r\n\r\n',
    'HTTP/1.1 200 OK\r\n' + 'X: y\r\n'.repeat(20_000)
  ]
  for (const text of bad) assert.throws(() => parse(text), ParseError, JSON.stringify(text.slice(0, 50)))
  assert.throws(() => parse('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc', { eof: true }), ParseError)
  assert.doesNotThrow(() => parse(OK, { eof: true }), 'a close between responses is no error')
})

test('stop() ends the reading, even of the rest of the current buffer', () => {
  const seen: number[] = []
  const p = new ResponseParser({
    onHead: (status) => { seen.push(status) },
    onBody: () => {},
    onEnd: () => { p.stop() }
  }, false)
  p.execute(Buffer.from(OK + OK))
  assert.deepEqual(seen, [200])
})
