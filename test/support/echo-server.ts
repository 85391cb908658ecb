// A real node:http server that echoes each request's body (or answers with a
// body of its own), and counts what it saw: requests by method, body bytes
// read, the Content-Length and Transfer-Encoding each request came with, a
// digest of each distinct body, and the body bytes it answered. For the
// client's payload tests: what `podmeter load` counts must be what arrived.

import { createHash } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface EchoServer {
  url: string
  requests: number
  methods: Map<string, number>
  /** Request body bytes read, all requests. */
  bytesIn: number
  /** Response body bytes written, all requests. */
  bytesOut: number
  /** Each request's Content-Length header (undefined: none), and Transfer-Encoding. */
  contentLengths: Map<string | undefined, number>
  transferEncodings: Set<string>
  /** sha256 (hex) of each distinct request body. */
  bodies: Set<string>
  close: () => Promise<void>
}

/** `answer(n, body)`: the body of the n-th answer (1-based); default, the request's body. */
export async function startEchoServer (answer: (n: number, body: Buffer) => Buffer = (_n, body) => body): Promise<EchoServer> {
  const s: EchoServer = {
    url: '',
    requests: 0,
    methods: new Map(),
    bytesIn: 0,
    bytesOut: 0,
    contentLengths: new Map(),
    transferEncodings: new Set(),
    bodies: new Set(),
    close: async () => {}
  }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => { chunks.push(c); s.bytesIn += c.length })
    req.on('end', () => {
      const n = ++s.requests
      const method = req.method ?? ''
      s.methods.set(method, (s.methods.get(method) ?? 0) + 1)
      const length = req.headers['content-length']
      s.contentLengths.set(length, (s.contentLengths.get(length) ?? 0) + 1)
      if (req.headers['transfer-encoding'] !== undefined) s.transferEncodings.add(req.headers['transfer-encoding'])
      const body = Buffer.concat(chunks)
      s.bodies.add(createHash('sha256').update(body).digest('hex'))
      const out = answer(n, body)
      s.bytesOut += method === 'HEAD' ? 0 : out.length
      res.writeHead(200, { 'content-length': out.length, 'server-timing': 'app;dur=0.010' })
      res.end(out)
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  s.close = async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return s
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
