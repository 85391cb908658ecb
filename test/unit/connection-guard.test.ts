import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { requestLine } from '../../src/main/connection-guard.js'
import { json } from '../../src/main/reply.js'

test('requestLine: the method and path of a well-formed line around the parser\'s error, else nothing', () => {
  const at = (text: string, offset: number): ReturnType<typeof requestLine> => requestLine(Buffer.from(text, 'latin1'), offset)
  assert.deepEqual(at('FOO /stats?x=1 HTTP/1.1\r\nHost: t\r\n\r\n', 1), { method: 'FOO', path: '/stats' })
  assert.deepEqual(at('get / HTTP/1.0\r\n\r\n', 0), { method: 'get', path: '/' })
  // Pipelined: the second request's line, not the first's.
  assert.deepEqual(at('GET / HTTP/1.1\r\nHost: t\r\n\r\nFOO /x HTTP/1.1\r\n\r\n', 28), { method: 'FOO', path: '/x' })
  for (const bad of ['HELLO\r\n\r\n', 'FOO /x HTTP/2.0\r\n', 'FOO http://a/ HTTP/1.1\r\n', 'FOO  /x HTTP/1.1\r\n', 'FOO /x HTTP/1.1', `${'A'.repeat(65)} / HTTP/1.1\r\n`]) {
    assert.equal(at(bad, 1), undefined, JSON.stringify(bad))
  }
  assert.equal(requestLine(undefined, 0), undefined)
})

test('property: requestLine never throws, whatever the bytes and the offset', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: -10, max: 400 }), (bytes, offset) => {
    const r = requestLine(Buffer.from(bytes), offset)
    assert.ok(r === undefined || (r.path.startsWith('/') && !r.path.includes('?')))
  }), { numRuns: 2000 })
})

test('property: json() reads back unchanged and never carries markup or line separators', () => {
  fc.assert(fc.property(fc.jsonValue(), fc.string({ unit: 'binary', maxLength: 100 }), (value, text) => {
    for (const v of [value, { error: { code: 'NOT_FOUND', message: `no endpoint at ${JSON.stringify(text)}` } }]) {
      const out = json(v)
      assert.deepEqual(JSON.parse(out), JSON.parse(JSON.stringify(v)))
      assert.ok(!/[<>&\u2028\u2029]/.test(out))
    }
  }), { numRuns: 1000 })
})
