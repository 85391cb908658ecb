import assert from 'node:assert/strict'
import { test } from 'node:test'
import { UsageError } from '../../src/cli/args.js'
import { generatedBody, MAX_BODY_BYTES, requestBody } from '../../src/cli/request-body.js'
import { isNodeName } from '../../src/shared/node-name.js'

test('the generated body: deterministic, printable, each size a prefix of the larger ones', () => {
  const a = generatedBody(4096)
  assert.deepEqual(generatedBody(4096), a)
  assert.deepEqual(generatedBody(100), a.subarray(0, 100))
  assert.equal(generatedBody(0).length, 0)
  assert.match(a.toString('latin1'), /^[A-Za-z0-9+/]+$/)
  // About 6 bits a byte: every one of the 64 characters shows up.
  assert.equal(new Set(a).size, 64)
})

test('method and body: one body at most, none for GET, HEAD and TRACE, an empty one for POST, PUT and PATCH', () => {
  const body = (flags: Partial<Parameters<typeof requestBody>[0]>): ReturnType<typeof requestBody> =>
    requestBody({ method: undefined, text: undefined, file: undefined, size: undefined, ...flags })
  assert.deepEqual(body({}), { method: 'GET', body: undefined })
  assert.deepEqual(body({ method: 'delete' }), { method: 'DELETE', body: undefined })
  for (const m of ['POST', 'put', 'Patch']) assert.deepEqual(body({ method: m }).body, Buffer.alloc(0), m)
  assert.equal(body({ method: 'OPTIONS', size: '10' }).body?.length, 10, 'any other method may carry one')
  assert.equal(body({ method: 'POST', size: '64MiB' }).body?.length, MAX_BODY_BYTES)
  // The units of /?size= (src/shared/size.ts): a client's 1k is the server's 1k.
  for (const [size, bytes] of [['1k', 1024], ['1KiB', 1024], ['1.5k', 1536], ['1M', 1024 ** 2]] as const) assert.equal(body({ method: 'POST', size }).body?.length, bytes, size)
  assert.deepEqual(body({ method: 'POST', text: '' }).body, Buffer.alloc(0))
  for (const [flags, message] of [
    [{ size: '1' }, /--body-size: a GET request carries no body/],
    [{ method: 'head', text: 'x' }, /-b\/--body: a HEAD request carries no body/],
    [{ method: 'POST', text: 'x', file: '/etc/hostname' }, /-b\/--body and --body-file exclude each other/],
    [{ method: 'POST', size: '64MiB1' }, /not a size/],
    [{ method: 'POST', size: String(MAX_BODY_BYTES + 1) }, /not a size from 0 to 64MiB/],
    [{ method: 'GET\r\nX: y' }, /not an HTTP method/],
    [{ method: 'A'.repeat(33) }, /not an HTTP method/],
    [{ method: 'connect' }, /CONNECT opens a tunnel/]
  ] as const) {
    assert.throws(() => body(flags), (err: Error) => err instanceof UsageError && message.test(err.message), JSON.stringify(flags))
  }
})

test('node names: DNS subdomains of at most 253 characters', () => {
  for (const ok of ['node-a', 'ip-10-0-1-5.eu-west-1.compute.internal', 'gke-pool-1-9c2f', 'a', '1', 'a'.repeat(63) + '.' + 'b'.repeat(63)]) assert.ok(isNodeName(ok), ok)
  for (const bad of ['', 'Node-A', 'node_a', '-a', 'a-', 'a..b', '.a', 'a.', 'a'.repeat(64), `${'a'.repeat(63)}.`.repeat(4) + 'a', 'a b', 'ä', 'a\nb']) assert.ok(!isNodeName(bad), JSON.stringify(bad))
})
