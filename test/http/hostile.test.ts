// Hostile input, one row each: what is sent over a raw socket, what must come
// back, and after every row the server still answers and its counters still
// add up (/stats requests is exactly what was measured, refused requests are
// counted by status, request_bytes is exactly the body bytes read).

import assert from 'node:assert/strict'
import type net from 'node:net'
import { after, before, test } from 'node:test'
import type { Refused } from '../../src/main/connection-guard.js'
import type { Running } from '../../src/main/serve.js'
import type { ErrorCode } from '../../src/shared/errors.js'
import { getJson, rawExchange, request, sleep, startServer, type Exchange } from '../support/helpers.js'

interface Row {
  name: string
  send: string | Buffer | ((socket: net.Socket) => Promise<void>)
  /** The statuses that must come back, in order. */
  statuses: number[]
  /** The error code of the last response. */
  code?: ErrorCode
  /** The server closes the connection after answering. */
  close?: boolean
  head?: boolean
  /** Measured requests the row adds, and how many of them are errors or aborted. */
  measured?: number
  errors?: number
  aborted?: number
  /** Body bytes the measured ones read (POST and PUT /). */
  bytesIn?: number
  /** Requests refused before a handler saw them, by status. */
  refused?: Partial<Record<Refused, number>>
  check?: (x: Exchange) => void
}

const get = (path: string, headers = ''): string => `GET ${path} HTTP/1.1\r\nHost: t\r\n${headers}\r\n`
const trickle = (first: string, next: (i: number) => string, everyMs: number, times: number) => async (s: net.Socket): Promise<void> => {
  s.write(first)
  for (let i = 0; i < times && !s.destroyed && s.writable; i++) {
    await sleep(everyMs)
    if (!s.destroyed && s.writable) s.write(next(i))
  }
}
const bytes = (...parts: Array<string | number[]>): Buffer => Buffer.concat(parts.map((p) => typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p)))
const list = (n: number, entry: (i: number) => string): string => Array.from({ length: n }, (_, i) => entry(i)).join(',')

const ROWS: Row[] = [
  // The query of GET /: nothing is measured, every answer a 400 with its code.
  { name: 'delay=abc', send: get('/?delay=abc'), statuses: [400], code: 'INVALID_DELAY' },
  { name: 'delay=-5', send: get('/?delay=-5'), statuses: [400], code: 'INVALID_DELAY' },
  { name: 'delay=1e309', send: get('/?delay=1e309'), statuses: [400], code: 'INVALID_DELAY' },
  { name: 'delay=NaN', send: get('/?delay=NaN'), statuses: [400], code: 'INVALID_DELAY' },
  { name: 'delay=Infinity', send: get('/?delay=Infinity'), statuses: [400], code: 'INVALID_DELAY' },
  { name: 'delay= (empty)', send: get('/?delay='), statuses: [400], code: 'INVALID_DELAY' },
  { name: 'delay=%00', send: get('/?delay=%00'), statuses: [400], code: 'INVALID_DELAY' },
  { name: 'delay of 15 digits', send: get('/?delay=999999999999999'), statuses: [400], code: 'DELAY_TOO_LARGE' },
  { name: 'delay weights above 100', send: get('/?delay=1ms:60,2ms:60'), statuses: [400], code: 'INVALID_WEIGHTS' },
  { name: 'delay weight NaN', send: get('/?delay=1ms:NaN'), statuses: [400], code: 'INVALID_WEIGHTS' },
  { name: 'delay weighted list of 1,000 entries', send: get('/?delay=' + list(1000, () => '1us:0.01')), statuses: [400], code: 'INVALID_DELAY' },
  { name: 'delay=5ms&delay=abc (given twice)', send: get('/?delay=5ms&delay=abc'), statuses: [400], code: 'INVALID_QUERY' },
  { name: 'status given twice, both valid', send: get('/?status=200&status=503'), statuses: [400], code: 'INVALID_QUERY' },
  { name: 'a delay after 64 other parameters', send: get('/?' + list(64, (i) => `x${i}=1`).replace(/,/g, '&') + '&delay=5s'), statuses: [400], code: 'INVALID_QUERY' },
  { name: 'status=abc', send: get('/?status=abc'), statuses: [400], code: 'INVALID_STATUS' },
  // size, header and close: refused with their code, never clamped nor passed on.
  { name: 'a huge size', send: get('/?size=99999999999999999999'), statuses: [400], code: 'SIZE_TOO_LARGE' },
  { name: 'size above MAX_SIZE by one byte', send: get('/?size=1048577'), statuses: [400], code: 'SIZE_TOO_LARGE' },
  { name: 'size=-1', send: get('/?size=-1'), statuses: [400], code: 'INVALID_SIZE' },
  { name: 'size=1e3', send: get('/?size=1e3'), statuses: [400], code: 'INVALID_SIZE' },
  { name: 'a malformed size list', send: get('/?size=1k:50,2k'), statuses: [400], code: 'INVALID_SIZE' },
  { name: 'size weights above 100', send: get('/?size=1k:60,2k:60'), statuses: [400], code: 'INVALID_WEIGHTS' },
  { name: 'size weighted list of 1,000 entries', send: get('/?size=' + list(1000, () => '1k:0.01')), statuses: [400], code: 'INVALID_SIZE' },
  { name: 'CRLF in a header value', send: get('/?header=X-A:1%0D%0ASet-Cookie:%20evil=1'), statuses: [400], code: 'INVALID_HEADER', check: (x) => assert.equal(x.responses[0]?.headers['set-cookie'], undefined) },
  { name: 'a bare LF in a header value', send: get('/?header=X-A:1%0AX-B:2'), statuses: [400], code: 'INVALID_HEADER' },
  { name: 'NUL in a header value', send: get('/?header=X-A:%00'), statuses: [400], code: 'INVALID_HEADER' },
  { name: 'a header name that is no token', send: get('/?header=X%20A:1'), statuses: [400], code: 'INVALID_HEADER' },
  { name: 'a header without a colon', send: get('/?header=X-A'), statuses: [400], code: 'INVALID_HEADER' },
  { name: 'header=Content-Length', send: get('/?header=Content-Length:0'), statuses: [400], code: 'HEADER_NOT_ALLOWED' },
  { name: 'header=Transfer-Encoding', send: get('/?header=transfer-encoding:chunked'), statuses: [400], code: 'HEADER_NOT_ALLOWED' },
  { name: 'header=Server-Timing', send: get('/?header=Server-Timing:app;dur=0'), statuses: [400], code: 'HEADER_NOT_ALLOWED' },
  { name: 'header=Connection', send: get('/?header=Connection:keep-alive'), statuses: [400], code: 'HEADER_NOT_ALLOWED' },
  { name: '17 headers', send: get('/?' + list(17, (i) => `header=X-${i}:v`).replace(/,/g, '&')), statuses: [400], code: 'INVALID_HEADER' },
  { name: 'headers of more than 4096 bytes in all', send: get('/?' + list(3, (i) => `header=X-${i}:${'v'.repeat(1500)}`).replace(/,/g, '&')), statuses: [400], code: 'INVALID_HEADER' },
  { name: 'close=yes', send: get('/?close=yes'), statuses: [400], code: 'INVALID_CLOSE' },
  { name: 'close given twice', send: get('/?close=1&close=0'), statuses: [400], code: 'INVALID_QUERY' },
  { name: 'a bad size on POST: refused, its body dropped unread', send: 'POST /?size=x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello' + get('/?size=y'), statuses: [400, 400], code: 'INVALID_SIZE' },
  { name: 'status=-1', send: get('/?status=-1'), statuses: [400], code: 'INVALID_STATUS' },
  { name: 'status=1e309', send: get('/?status=1e309'), statuses: [400], code: 'INVALID_STATUS' },
  { name: 'status=NaN', send: get('/?status=NaN'), statuses: [400], code: 'INVALID_STATUS' },
  { name: 'status=600', send: get('/?status=600'), statuses: [400], code: 'INVALID_STATUS' },
  { name: 'status weighted list of 1,000 entries', send: get('/?status=' + list(1000, () => '503:0.1')), statuses: [400], code: 'INVALID_STATUS' },
  { name: 'broken percent-encoding', send: get('/?delay=%E0%A4%A'), statuses: [400], code: 'INVALID_QUERY' },
  // The query of /stats.
  { name: 'percentiles=abc', send: get('/stats?percentiles=abc'), statuses: [400], code: 'INVALID_PERCENTILES' },
  { name: 'percentiles given twice', send: get('/stats?percentiles=50&percentiles=99'), statuses: [400], code: 'INVALID_QUERY' },
  { name: 'window given twice', send: get('/stats?window=1&window=lifetime'), statuses: [400], code: 'INVALID_QUERY' },
  { name: 'percentiles=-1', send: get('/stats?percentiles=-1'), statuses: [400], code: 'INVALID_PERCENTILES' },
  { name: 'percentiles=1e309', send: get('/stats?percentiles=1e309'), statuses: [400], code: 'INVALID_PERCENTILES' },
  { name: 'percentiles=NaN', send: get('/stats?percentiles=NaN'), statuses: [400], code: 'INVALID_PERCENTILES' },
  { name: '1,000 percentiles', send: get('/stats?percentiles=' + list(1000, (i) => String(i % 100 + 1))), statuses: [400], code: 'INVALID_PERCENTILES' },
  { name: '10,000 percentiles: the header limit comes first', send: get('/stats?percentiles=' + list(10_000, () => '50')), statuses: [431], code: 'HEADERS_TOO_LARGE', close: true, refused: { 431: 1 } },
  { name: 'window=abc', send: get('/stats?window=abc'), statuses: [400], code: 'INVALID_WINDOW' },
  { name: 'window=-1', send: get('/stats?window=-1'), statuses: [400], code: 'INVALID_WINDOW' },
  { name: 'window=1e309', send: get('/stats?window=1e309'), statuses: [400], code: 'INVALID_WINDOW' },
  { name: 'window=NaN', send: get('/stats?window=NaN'), statuses: [400], code: 'INVALID_WINDOW' },
  { name: 'window=0', send: get('/stats?window=0'), statuses: [400], code: 'INVALID_WINDOW' },
  { name: 'format=xml', send: get('/stats/histogram?format=xml'), statuses: [400], code: 'INVALID_FORMAT' },
  // Sizes.
  { name: 'an 8 KB URL (an unknown parameter)', send: get('/?x=' + 'a'.repeat(8192)), statuses: [200], measured: 1 },
  {
    name: 'an 8 KB path: 404, the echo cut short',
    send: get('/' + 'p'.repeat(8192)),
    statuses: [404],
    code: 'NOT_FOUND',
    check: (x) => assert.ok((x.responses[0]?.body.length ?? 0) < 600, 'the message quotes at most 200 characters of the path')
  },
  { name: '100 KB of headers', send: get('/', `X-Big: ${'b'.repeat(100 * 1024)}\r\n`), statuses: [431], code: 'HEADERS_TOO_LARGE', close: true, refused: { 431: 1 } },
  // Host and 999 more: Node 24 refuses a request with more than 1,000 header lines (431); Node 20 keeps the first 2,000.
  { name: '1,000 headers', send: get('/', 'h: v\r\n'.repeat(999)), statuses: [200], measured: 1 },
  { name: '999 Via headers: hops capped', send: get('/', 'Via: 1\r\n'.repeat(999)), statuses: [200], measured: 1 },
  { name: 'X-Forwarded-For of 100,000 entries: refused by the header limit', send: get('/', `X-Forwarded-For: ${list(100_000, (i) => `10.0.${(i >> 8) & 255}.${i & 255}`)}\r\n`), statuses: [431], code: 'HEADERS_TOO_LARGE', close: true, refused: { 431: 1 } },
  { name: 'X-Forwarded-For of 5,000 entries (10 KB)', send: get('/', `X-Forwarded-For: ${list(5000, () => '1')}\r\n`), statuses: [200], measured: 1 },
  { name: 'an 8 KB header value', send: get('/', `X-V: ${'v'.repeat(8192)}\r\n`), statuses: [200], measured: 1 },
  // Malformed HTTP: node's parser refuses it; a JSON 400 and the connection closes.
  { name: 'no Host on HTTP/1.1', send: 'GET / HTTP/1.1\r\n\r\n', statuses: [400], code: 'BAD_REQUEST', close: true, refused: { 400: 1 } },
  { name: 'garbage request line', send: 'HELLO\r\n\r\n', statuses: [400], code: 'BAD_REQUEST', close: true, refused: { 400: 1 } },
  { name: 'binary junk', send: bytes(Array.from({ length: 256 }, (_, i) => (i * 37) & 255), '\r\n\r\n'), statuses: [400], code: 'BAD_REQUEST', close: true, refused: { 400: 1 } },
  { name: 'HTTP/9.9', send: 'GET / HTTP/9.9\r\nHost: t\r\n\r\n', statuses: [400], code: 'BAD_REQUEST', close: true, refused: { 400: 1 } },
  { name: 'an HTTP/2 preface', send: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', statuses: [400], code: 'BAD_REQUEST', close: true, refused: { 400: 1 } },
  { name: 'a 100-letter method', send: `${'A'.repeat(100)} / HTTP/1.1\r\nHost: t\r\n\r\n`, statuses: [400], code: 'BAD_REQUEST', close: true, refused: { 400: 1 } },
  { name: 'invalid UTF-8 in the URL', send: bytes('GET /?a=', [0xff, 0xfe], ' HTTP/1.1\r\nHost: t\r\n\r\n'), statuses: [400], code: 'BAD_REQUEST', close: true, refused: { 400: 1 } },
  { name: 'invalid UTF-8 in a header value (obs-text, allowed)', send: bytes('GET / HTTP/1.1\r\nHost: t\r\nUser-Agent: ', [0xff, 0xfe, 0xc3], '\r\n\r\n'), statuses: [200], measured: 1 },
  { name: 'a control character in a header', send: get('/', 'X-A: a\x01b\r\n'), statuses: [400], code: 'BAD_REQUEST', close: true, refused: { 400: 1 } },
  { name: 'a NUL in a header', send: get('/', 'X-A: a\x00b\r\n'), statuses: [400], code: 'BAD_REQUEST', close: true, refused: { 400: 1 } },
  { name: 'a bare CR in a header', send: get('/', 'X-A: a\rb\r\n'), statuses: [400], code: 'BAD_REQUEST', close: true, refused: { 400: 1 } },
  { name: 'a folded header (obs-fold)', send: get('/', 'X-A: a\r\n b\r\n'), statuses: [400], code: 'BAD_REQUEST', close: true, refused: { 400: 1 } },
  { name: 'a space in a header name', send: get('/', 'Bad Name: a\r\n'), statuses: [400], code: 'BAD_REQUEST', close: true, refused: { 400: 1 } },
  { name: 'Content-Length and Transfer-Encoding (smuggling)', send: 'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', statuses: [400], code: 'BAD_REQUEST', close: true, refused: { 400: 1 } },
  { name: 'two different Content-Lengths', send: 'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde', statuses: [400], code: 'BAD_REQUEST', close: true, refused: { 400: 1 } },
  {
    name: 'a bad chunk under a delayed GET: 400, and the GET counted as aborted',
    send: get('/?delay=200ms', 'Transfer-Encoding: chunked\r\n') + 'zz\r\n',
    statuses: [400],
    code: 'BAD_REQUEST',
    close: true,
    measured: 1,
    errors: 1,
    aborted: 1,
    refused: { 400: 1 }
  },
  {
    name: 'the same from a client that keeps its side open: the GET is still cut, not answered later',
    send: async (s) => {
      s.allowHalfOpen = true
      s.write(get('/?delay=100ms', 'Transfer-Encoding: chunked\r\n') + 'zz\r\n')
      await sleep(300)
      s.end()
    },
    statuses: [400],
    code: 'BAD_REQUEST',
    close: true,
    measured: 1,
    errors: 1,
    aborted: 1,
    refused: { 400: 1 }
  },
  // HTTP/1.0, keep-alive, pipelining, bodies.
  { name: 'HTTP/1.0 without keep-alive: answered, then closed', send: 'GET /?delay=0 HTTP/1.0\r\n\r\n', statuses: [200], close: true, measured: 1 },
  {
    name: 'HTTP/1.0 with keep-alive: two requests, one connection',
    send: 'GET /?delay=0 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'.repeat(2),
    statuses: [200, 200],
    measured: 2,
    check: (x) => {
      assert.equal(x.responses[0]?.headers.connection, 'keep-alive')
      assert.equal(x.closed, false)
    }
  },
  { name: 'HTTP/1.1 with Connection: close', send: get('/', 'Connection: close\r\n'), statuses: [200], close: true, measured: 1 },
  {
    name: 'three pipelined requests answered in order',
    send: get('/?delay=2ms') + get('/?status=503') + get('/livez'),
    statuses: [200, 503, 200],
    measured: 2,
    errors: 1
  },
  { name: '100 pipelined requests', send: get('/?delay=0').repeat(100), statuses: Array.from({ length: 100 }, () => 200), measured: 100 },
  {
    name: 'a body on GET, then the next request (kept alive for KEEP_ALIVE_TIMEOUT_MS)',
    send: get('/', 'Content-Length: 11\r\n') + 'hello world' + get('/'),
    statuses: [200, 200],
    measured: 2,
    check: (x) => assert.equal(x.responses[1]?.headers['keep-alive'], 'timeout=3660')
  },
  { name: 'a chunked body on GET, then the next request', send: get('/', 'Transfer-Encoding: chunked\r\n') + '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n' + get('/'), statuses: [200, 200], measured: 2 },
  {
    name: 'a 64 KB body on POST /, echoed, then a GET',
    send: 'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 65536\r\n\r\n' + 'x'.repeat(65536) + get('/'),
    statuses: [200, 200],
    measured: 2,
    bytesIn: 65536,
    check: (x) => assert.equal(x.responses[0]?.body, 'x'.repeat(65536))
  },
  // Uploads: over the cap, broken off, malformed. None is a success.
  { name: 'a Content-Length over MAX_SIZE: 413 before the body', send: 'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1048577\r\n\r\n', statuses: [413], code: 'BODY_TOO_LARGE', close: true },
  { name: 'a Content-Length of 20 digits', send: 'PUT / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999\r\n\r\n', statuses: [400], code: 'BAD_REQUEST', close: true, refused: { 400: 1 } },
  {
    name: 'an upload that stops halfway (the client shuts its side)',
    send: async (s) => { s.end('POST /?delay=0 HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n' + 'y'.repeat(400)) },
    statuses: [],
    close: true,
    measured: 1,
    errors: 1,
    aborted: 1,
    bytesIn: 400
  },
  {
    name: 'an upload that stops halfway during its delay',
    send: async (s) => { s.write('POST /?delay=5s&size=0 HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n' + 'y'.repeat(300)); await sleep(100); s.destroy() },
    statuses: [],
    measured: 1,
    errors: 1,
    aborted: 1,
    bytesIn: 300
  },
  {
    name: 'a malformed chunk in an echoed body: the echo under way is cut',
    send: 'POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n',
    statuses: [200],
    close: true,
    check: (x) => assert.ok(!x.raw.toString('latin1').endsWith('0\r\n\r\n'), 'the chunked answer never ends'),
    measured: 1,
    errors: 1,
    aborted: 1,
    bytesIn: 5
  },
  {
    name: 'a malformed chunk in a body that size= drops',
    send: 'POST /?size=1k HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n',
    statuses: [],
    close: true,
    measured: 1,
    errors: 1,
    aborted: 1,
    bytesIn: 3
  },
  { name: 'HEAD /', send: 'HEAD / HTTP/1.1\r\nHost: t\r\n\r\n', statuses: [200], head: true, measured: 1 },
  { name: 'a WebSocket upgrade is answered as a plain GET', send: get('/', 'Upgrade: websocket\r\nConnection: Upgrade\r\n'), statuses: [200], measured: 1 },
  { name: 'Expect: 100-continue', send: 'POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello', statuses: [100, 200], measured: 1, bytesIn: 5, check: (x) => assert.equal(x.responses[1]?.body, 'hello') },
  { name: 'Expect: 100-continue over MAX_SIZE: 413, never the 100', send: 'POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2000000\r\n\r\n', statuses: [413], code: 'BODY_TOO_LARGE', close: true },
  { name: 'Expect: something else', send: get('/', 'Expect: magic\r\n'), statuses: [417], code: 'EXPECTATION_FAILED', close: true, refused: { 417: 1 } },
  // Methods and paths.
  { name: 'DELETE /', send: 'DELETE / HTTP/1.1\r\nHost: t\r\n\r\n', statuses: [405], code: 'METHOD_NOT_ALLOWED', check: allow('GET, HEAD, POST, PUT, OPTIONS') },
  { name: 'TRACE /', send: 'TRACE / HTTP/1.1\r\nHost: t\r\n\r\n', statuses: [405], code: 'METHOD_NOT_ALLOWED', check: allow('GET, HEAD, POST, PUT, OPTIONS') },
  { name: 'PUT /stats', send: 'PUT /stats HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n', statuses: [405], code: 'METHOD_NOT_ALLOWED', check: allow('GET') },
  { name: 'GET /stats/reset', send: get('/stats/reset'), statuses: [405], code: 'METHOD_NOT_ALLOWED', check: allow('POST') },
  { name: 'FOO /stats: a method HTTP does not know', send: 'FOO /stats HTTP/1.1\r\nHost: t\r\n\r\n', statuses: [405], code: 'METHOD_NOT_ALLOWED', close: true, refused: { 405: 1 }, check: allow('GET') },
  { name: 'get / in lower case', send: 'get / HTTP/1.1\r\nHost: t\r\n\r\n', statuses: [405], code: 'METHOD_NOT_ALLOWED', close: true, refused: { 405: 1 }, check: allow('GET, HEAD, POST, PUT, OPTIONS') },
  { name: 'CONNECT: not a proxy', send: 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', statuses: [405], code: 'METHOD_NOT_ALLOWED', close: true, refused: { 405: 1 } },
  { name: 'an unknown path', send: get('/nope'), statuses: [404], code: 'NOT_FOUND' },
  {
    name: 'markup in the path is not reflected as markup',
    send: get('/%3Cscript%3Ealert(1)%3C/script%3E<img>'),
    statuses: [404],
    code: 'NOT_FOUND',
    check: (x) => assert.match(x.responses[0]?.body ?? '', /\\u003cimg\\u003e/)
  },
  { name: 'markup under /dashboard', send: get('/dashboard/%3Csvg%20onload=alert(1)%3E'), statuses: [404], code: 'NOT_FOUND' },
  // RFC 9112 3.2.2: a server must accept the absolute form; it names this server's path, never a proxied fetch.
  { name: 'an absolute-form target is served like its path', send: 'GET http://evil.example/?delay=0 HTTP/1.1\r\nHost: evil.example\r\n\r\n', statuses: [200], measured: 1 },
  { name: 'an absolute-form target of another scheme', send: 'GET gopher://evil.example/ HTTP/1.1\r\nHost: evil.example\r\n\r\n', statuses: [404], code: 'NOT_FOUND' },
  { name: 'markup in Host is refused, not reflected', send: 'GET / HTTP/1.1\r\nHost: <script>\r\n\r\n', statuses: [400], code: 'BAD_REQUEST', close: true, refused: { 400: 1 } },
  // Slow and vanishing clients.
  {
    name: 'slowloris: headers trickled get 408 after HEADERS_TIMEOUT_MS',
    send: trickle('GET / HTTP/1.1\r\nHost: t\r\n', (i) => `X-Slow-${i}: y\r\n`, 50, 200),
    statuses: [408],
    code: 'REQUEST_TIMEOUT',
    close: true,
    refused: { 408: 1 }
  },
  {
    name: 'a body trickled gets 408 after REQUEST_TIMEOUT_MS',
    send: trickle('POST /stats HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n', () => 'y', 50, 200),
    statuses: [405, 408],
    code: 'REQUEST_TIMEOUT',
    close: true,
    refused: { 408: 1 }
  },
  {
    name: 'half a request, then the client shuts its side',
    send: async (s) => { s.end('GET / HTTP/1.1\r\nHost:') },
    statuses: [400],
    code: 'BAD_REQUEST',
    close: true,
    refused: { 400: 1 }
  },
  {
    name: 'a client that disconnects mid-delay is counted as aborted',
    send: async (s) => { s.write(get('/?delay=5s')); await sleep(100); s.destroy() },
    statuses: [],
    measured: 1,
    errors: 1,
    aborted: 1
  },
  { name: 'a connection that sends nothing', send: async (s) => { await sleep(20); s.destroy() }, statuses: [] }
]

function allow (methods: string): (x: Exchange) => void {
  return (x) => assert.equal(x.responses.at(-1)?.headers.allow, methods)
}

let pm: Running
let port: number
before(async () => {
  pm = await startServer({ delayUs: 0, headersTimeoutMs: 300, requestTimeoutMs: 600 })
  port = Number(new URL(pm.url).port)
})
after(async () => { await pm.shutdown() })

test(`hostile input: ${ROWS.length} rows, each answered as it must be, the server still up and its counters adding up`, async (t) => {
  assert.ok(ROWS.length >= 40)
  const want = { requests: 0, errors: 0, aborted: 0, bytesIn: 0, refused: { 400: 0, 405: 0, 408: 0, 417: 0, 431: 0 } as Record<Refused, number> }
  for (const row of ROWS) {
    await t.test(row.name, async () => {
      const x = await rawExchange(port, row.send, { responses: row.statuses.length, close: row.close === true, head: row.head === true })
      assert.deepEqual(x.responses.map((r) => r.status), row.statuses)
      if (row.close === true) assert.ok(x.closed, 'the server closed the connection')
      for (const r of x.responses) {
        // Measured answers (Server-Timing) are the simulated ones: text, as asked by ?status=.
        if (r.status >= 400 && r.headers['server-timing'] === undefined) {
          assert.match(r.headers['content-type'] ?? '', /^application\/json/)
          assert.equal(r.headers['x-content-type-options'], 'nosniff')
          const body = JSON.parse(r.body) as { error: { code: string, message: string } }
          assert.ok(body.error.message.length > 10)
        }
        assert.ok(!/[<>]/.test(r.body), 'nothing from the request comes back as markup')
      }
      if (row.code !== undefined) assert.equal(JSON.parse(x.responses.at(-1)?.body ?? '{}').error?.code, row.code)
      row.check?.(x)

      want.requests += row.measured ?? 0
      want.errors += row.errors ?? 0
      want.aborted += row.aborted ?? 0
      want.bytesIn += row.bytesIn ?? 0
      for (const [status, n] of Object.entries(row.refused ?? {})) want.refused[status as Refused] += n
      assert.equal((await request(`${pm.url}/livez`)).status, 200, 'still answering')
      // An aborted request is counted when its socket closes: give it a moment.
      if ((row.aborted ?? 0) > 0) await sleep(50)
      const s = await getJson(`${pm.url}/stats`)
      assert.equal(s.requests, want.requests, 'requests are exactly the measured ones')
      assert.equal(s.errors, want.errors)
      assert.equal(s.status_codes.aborted, want.aborted)
      assert.equal(s.request_bytes, want.bytesIn, 'request bytes are exactly the bodies read')
      const c = s.status_codes
      assert.equal(c['1xx'] + c['2xx'] + c['3xx'] + c['4xx'] + c['5xx'] + c.aborted, s.requests, 'status classes add up to requests')
      assert.equal(s.samples + s.samples_dropped, s.requests - c.aborted, 'every answered request has its sample')
      assert.deepEqual(s.requests_refused, want.refused)
    })
  }
})
