// The open loop's own HTTP/1.1 client (http1-connection.ts) against raw
// servers that answer the way real ones sometimes do: Connection: close on
// every answer, chunked bodies, pipelined answers in one write, silence, a
// close in the middle of an answer. Everything is counted at both ends.

import assert from 'node:assert/strict'
import net, { type AddressInfo } from 'node:net'
import { after, describe, test } from 'node:test'
import type { LoadResult } from '../../src/cli/result.js'
import { runCli } from '../support/helpers.js'

interface RawServer { url: string, requests: number, connections: number, first: string, close: () => Promise<void> }

/** A server that calls `answer` for each request head it reads; what it returns is written (null: nothing). */
async function rawServer (answer: (n: number, socket: net.Socket) => string | null): Promise<RawServer> {
  const sockets = new Set<net.Socket>()
  const s: RawServer = { url: '', requests: 0, connections: 0, first: '', close: async () => {} }
  const server = net.createServer((socket) => {
    s.connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let pending = ''
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1')
      if (s.first === '') s.first = pending
      let end: number
      while ((end = pending.indexOf('\r\n\r\n')) >= 0) {
        pending = pending.slice(end + 4)
        const reply = answer(++s.requests, socket)
        if (reply !== null && !socket.destroyed) socket.write(reply)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  s.close = async () => {
    for (const c of sockets) c.destroy()
    await new Promise((resolve) => server.close(resolve))
  }
  return s
}

const servers: RawServer[] = []
after(async () => { for (const s of servers) await s.close() })

async function openLoad (server: RawServer, args: string[], code = 0): Promise<LoadResult> {
  servers.push(server)
  const r = await runCli(['load', '-q', '--json', '--no-stats', '--warmup', '0', ...args, server.url])
  assert.equal(r.code, code, r.stderr)
  return JSON.parse(r.stdout) as LoadResult
}

describe('the open loop\'s HTTP/1.1 client', () => {
  test('Connection: close on every answer: a new connection for each request, every answer counted', async () => {
    const s = await rawServer(() => 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nOK\n')
    const r = await openLoad(s, ['--qps', '100', '-n', '60', '-c', '2'])
    assert.equal(r.responses, 60)
    assert.equal(r.errors, 0)
    assert.equal(s.requests, 60)
    assert.equal(r.connections_opened, 60)
    assert.equal(s.connections, 60)
    assert.equal(r.bytes_received, 180)
  })

  test('chunked answers with Server-Timing, pipelined and split across writes', async () => {
    const s = await rawServer((n, socket) => {
      const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nServer-Timing: app;dur=0.250\r\n\r\n'
      // Half the answers in two writes, cut inside the chunk data.
      if (n % 2 === 0) { socket.write(head + '4\r\nab'); return 'cd\r\n0\r\n\r\n' }
      return head + '4\r\nabcd\r\n0\r\n\r\n'
    })
    const r = await openLoad(s, ['--qps', '400', '-n', '200', '-c', '2', '-P', '4'])
    assert.equal(r.responses, 200)
    assert.equal(r.status_codes['200'], 200)
    assert.equal(r.bytes_received, 800)
    assert.equal(r.server_timing.missing, 0)
    assert.equal(r.latency_ms.server?.count, 200)
    assert.equal(r.latency_ms.server?.min, 0.25, 'Server-Timing read from every answer')
    assert.equal(r.connections_opened, 2)
  })

  test('a server that never answers: every request times out, none is counted answered', async () => {
    const s = await rawServer(() => null)
    const r = await openLoad(s, ['--qps', '50', '-n', '20', '-c', '20', '--timeout', '300ms'], 1)
    assert.equal(r.responses, 0)
    assert.equal(r.error_kinds.timeout, 20)
    assert.equal(s.requests, 20)
  })

  test('a close in the middle of an answer is a reset, and the next request reconnects', async () => {
    const s = await rawServer((n, socket) => {
      if (n % 3 !== 0) return 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nOK\n'
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort')
      return null
    })
    const r = await openLoad(s, ['--qps', '100', '-n', '30', '-c', '1'])
    assert.equal(r.responses + r.errors, 30)
    assert.equal(r.errors, 10, 'every third answer cut short')
    assert.equal(r.responses, 20)
    assert.equal(r.error_kinds.reset + r.error_kinds.other, 10)
    assert.equal(s.requests, 30)
    assert.equal(r.connections_opened, 10, 'one at the start and one after each cut but the last (request 30)')
  })

  test('the request as written: Host, the -H headers, a -b body with its Content-Length', async () => {
    const s = await rawServer(() => 'HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n')
    const r = await openLoad(s, ['--qps', '100', '-n', '5', '-c', '1', '-m', 'POST', '-b', 'hello', '-H', 'X-Test: 1'])
    assert.equal(r.status_codes['201'], 5)
    const port = new URL(s.url).port
    assert.equal(s.first, `POST / HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nX-Test: 1\r\ncontent-length: 5\r\n\r\nhello`)
  })

  test('a malformed answer fails its request, and is not counted as a status', async () => {
    const s = await rawServer((n) => n % 2 === 0 ? 'HTTP/1.1 2OO OK\r\n\r\n' : 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')
    const r = await openLoad(s, ['--qps', '100', '-n', '20', '-c', '1'])
    assert.equal(r.responses, 10)
    assert.equal(r.status_codes['200'], 10)
    assert.equal(r.errors, 10)
    assert.equal(r.error_kinds.other, 10)
  })
})
