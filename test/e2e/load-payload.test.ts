// podmeter load's payloads against a real node:http echo server: -m, -b,
// --body-file and --body-size, in both loops (undici closed, the lean
// connection open), each request framed by its Content-Length; the bytes the
// client counts are the bytes the server read and wrote, and the result
// records the payload. Bad combinations exit 2 before a request is sent.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import type { LoadResult } from '../../src/cli/result.js'
import { generatedBody } from '../../src/cli/request-body.js'
import { runCli, tempFiles } from '../support/helpers.js'
import { type EchoServer, sha256, startEchoServer } from '../support/echo-server.js'

const tmp = tempFiles('payload')

async function load (url: string, args: string[]): Promise<LoadResult> {
  const r = await runCli(['load', '-q', '--json', '--no-stats', '--warmup', '0', ...args, url])
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout) as LoadResult
}

const LOOPS: Array<[string, string[]]> = [['closed loop (undici)', ['-c', '4']], ['open loop (lean connections)', ['--qps', '400', '-c', '4', '-P', '2']]]

describe('request bodies reach the server whole, counted at both ends', () => {
  let echo: EchoServer
  before(async () => { echo = await startEchoServer() })
  after(async () => { await echo.close() })
  const fresh = (): void => {
    echo.requests = 0
    echo.bytesIn = 0
    echo.bytesOut = 0
    echo.methods.clear()
    echo.contentLengths.clear()
    echo.transferEncodings.clear()
    echo.bodies.clear()
  }

  for (const [name, loop] of LOOPS) {
    test(`${name}: --body-size 1KiB POST: bytes sent = bytes the server read, bytes received = bytes it wrote`, async () => {
      fresh()
      const r = await load(`${echo.url}/echo`, ['-m', 'post', '--body-size', '1KiB', '-n', '300', ...loop])
      assert.equal(r.responses, 300)
      assert.equal(echo.requests, 300)
      assert.deepEqual([...echo.methods], [['POST', 300]])
      assert.deepEqual([...echo.contentLengths], [['1024', 300]], 'every request framed by its Content-Length')
      assert.deepEqual([...echo.transferEncodings], [])
      assert.equal(r.bytes_sent, 300 * 1024)
      assert.equal(r.bytes_sent, echo.bytesIn)
      assert.equal(r.bytes_received, echo.bytesOut)
      assert.deepEqual([...echo.bodies], [sha256(generatedBody(1024))], 'the same deterministic body every time')
      assert.deepEqual(r.payload, { method: 'POST', request_body_bytes: 1024, response_body_bytes: { min: 1024, max: 1024, mean: 1024 } })
      assert.equal(r.method, 'POST')
      // The rates are the counts over the measured time, not a measured speed.
      assert.ok(Math.abs(r.bytes_sent_per_second - r.bytes_sent / r.duration_seconds) <= r.bytes_sent_per_second * 1e-3 + 0.1)
      assert.ok(Math.abs(r.bytes_received_per_second - r.bytes_received / r.duration_seconds) <= r.bytes_received_per_second * 1e-3 + 0.1)
    })

    test(`${name}: --body-file PUT sends the file's bytes, -b sends UTF-8`, async () => {
      const file = tmp(`body-${name.length}.bin`)
      const bytes = randomBytes(3001)
      writeFileSync(file, bytes)
      fresh()
      const r = await load(`${echo.url}/`, ['-m', 'PUT', '--body-file', file, '-n', '120', ...loop])
      assert.equal(r.responses, 120)
      assert.deepEqual([...echo.bodies], [sha256(bytes)])
      assert.deepEqual([...echo.contentLengths], [['3001', 120]])
      assert.equal(r.bytes_sent, echo.bytesIn)
      assert.equal(r.bytes_sent, 120 * 3001)
      assert.equal(r.payload.request_body_bytes, 3001)

      fresh()
      const text = await load(`${echo.url}/`, ['-m', 'PATCH', '-b', 'héllo ✓', '-n', '50', ...loop])
      assert.deepEqual([...echo.bodies], [sha256(Buffer.from('héllo ✓', 'utf8'))])
      assert.deepEqual([...echo.contentLengths], [['10', 50]])
      assert.equal(text.bytes_sent, 500)
      assert.equal(text.bytes_sent, echo.bytesIn)
    })

    test(`${name}: POST without a body sends Content-Length: 0; GET sends none`, async () => {
      fresh()
      const post = await load(`${echo.url}/`, ['-m', 'POST', '-n', '40', ...loop])
      assert.deepEqual([...echo.contentLengths], [['0', 40]])
      assert.equal(post.bytes_sent, 0)
      assert.deepEqual(post.payload, { method: 'POST', request_body_bytes: 0, response_body_bytes: { min: 0, max: 0, mean: 0 } })
      fresh()
      const get = await load(`${echo.url}/`, ['-n', '40', ...loop])
      assert.deepEqual([...echo.contentLengths], [[undefined, 40]])
      assert.equal(get.payload.method, 'GET')
      assert.equal(get.payload.request_body_bytes, 0)
    })
  }

  test('the summary shows bytes sent and received with their rates, and the payload', async () => {
    const r = await runCli(['load', '-q', '--no-stats', '--warmup', '0', '-m', 'POST', '--body-size', '2k', '-n', '100', '-c', '2', `${echo.url}/`])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /podmeter load POST /)
    assert.match(r.stdout, /bytes {7}204,800 sent \([\d.,]+ [kMG]?B\/s\), 204,800 received \([\d.,]+ [kMG]?B\/s\); bodies only/)
    assert.match(r.stdout, /payload {5}POST, 2,048-byte request bodies; answers of 2,048 bytes/)
  })
})

test('answers of different sizes: the result records the smallest, the largest and the mean', async () => {
  const echo = await startEchoServer((n) => Buffer.alloc(n % 4 === 0 ? 1000 : 10, 0x61))
  try {
    const r = await load(`${echo.url}/`, ['-n', '400', '-c', '1'])
    assert.equal(r.responses, 400)
    assert.equal(r.bytes_received, echo.bytesOut)
    assert.equal(r.bytes_received, 100 * 1000 + 300 * 10)
    assert.deepEqual(r.payload.response_body_bytes, { min: 10, max: 1000, mean: 257.5 })
  } finally {
    await echo.close()
  }
})

test('bad method and body combinations exit 2 with a clear message, before any request', async () => {
  const echo = await startEchoServer()
  const dir = tmp('a-folder')
  mkdirSync(dir)
  const big = tmp('big.bin')
  writeFileSync(big, Buffer.alloc(64 * 1024 * 1024 + 1))
  try {
    const cases: Array<[string[], RegExp]> = [
      [['--body-size', '1k'], /--body-size: a GET request carries no body; give -m POST/],
      [['-m', 'HEAD', '-b', 'x'], /-b\/--body: a HEAD request carries no body/],
      [['-m', 'trace', '--body-file', big], /--body-file: a TRACE request carries no body/],
      [['-m', 'POST', '-b', 'x', '--body-size', '10'], /-b\/--body and --body-size exclude each other: give one body/],
      [['-m', 'POST', '--body-file', big, '--body-size', '10'], /--body-file and --body-size exclude each other/],
      [['-m', 'POST', '--body-size', '1.5'], /--body-size: "1.5" is not a size from 0 to 64MiB/],
      [['-m', 'POST', '--body-size', '65MiB'], /--body-size: "65MiB" is not a size/],
      [['-m', 'POST', '--body-size', '10 parsecs'], /--body-size: "10 parsecs" is not a size/],
      [['-m', 'POST', '--body-size', '-1'], /--body-size: "-1" is not a size/],
      [['-m', 'POST', '--body-file', tmp('missing.bin')], /--body-file: cannot read ".*missing\.bin": no such file/],
      [['-m', 'POST', '--body-file', dir], /--body-file: ".*a-folder" is not a regular file/],
      [['-m', 'POST', '--body-file', big], /--body-file: ".*big\.bin" is 67108865 bytes, over the 67108864 \(64 MiB\)/],
      [['-m', 'GE T'], /-m\/--method: "GE T" is not an HTTP method/],
      [['-m', 'CONNECT'], /CONNECT opens a tunnel/],
      [['--client-node', 'Node_A'], /--client-node: "Node_A" is not a Kubernetes node name/]
    ]
    for (const [args, message] of cases) {
      const r = await runCli(['load', '-q', '--no-stats', '-n', '5', ...args, `${echo.url}/`])
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, message, args.join(' '))
    }
    assert.equal(echo.requests, 0, 'nothing was sent')
    // A FIFO would block a plain open until a writer came: refused at once.
    const fifo = tmp('fifo')
    if (spawnSync('mkfifo', [fifo]).status === 0) {
      const r = await runCli(['load', '-q', '--no-stats', '-n', '5', '-m', 'POST', '--body-file', fifo, `${echo.url}/`])
      assert.equal(r.code, 2)
      assert.match(r.stderr, /is not a regular file/)
    }
  } finally {
    await echo.close()
  }
})
