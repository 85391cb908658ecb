// A shard thread (HTTP_THREADS > 1) serves `/` itself and relays every other
// request to the main thread, which keeps the routes (/stats, /metrics, the
// admin endpoints…) and their state. The relay is HTTP over a Unix socket the
// main thread listens on: method, target and raw headers go as they came,
// the body streams, and the answer comes back with its own status and
// headers, less the hop-by-hop ones of the inner connection.

import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import net from 'node:net'
import { ApiError } from '../shared/errors.js'
import { internalConnection } from './connection-guard.js'
import { sendError } from './reply.js'

const HOP_BY_HOP = new Set(['connection', 'keep-alive'])

/** Raw headers (name, value, name, value…) without the hop-by-hop ones. */
function endToEnd (raw: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!HOP_BY_HOP.has((raw[i] as string).toLowerCase())) out.push(raw[i] as string, raw[i + 1] as string)
  }
  return out
}

export function createRelay (socketPath: string): (req: IncomingMessage, res: ServerResponse) => void {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })
  return (req, res) => {
    const up = http.request({ socketPath, agent, method: req.method, path: req.url, headers: endToEnd(req.rawHeaders) })
    up.on('response', (answer) => {
      const headers = endToEnd(answer.rawHeaders)
      // This connection's own: `close` while the server shuts down.
      const close = res.getHeader('connection')
      if (close !== undefined) { res.removeHeader('connection'); headers.push('Connection', String(close)) }
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, headers)
      answer.pipe(res)
    })
    up.on('error', () => {
      if (!res.headersSent) sendError(res, new ApiError('RELAY_FAILED'))
      else res.destroy()
    })
    res.on('close', () => { if (!res.writableFinished) up.destroy() })
    req.pipe(up)
  }
}

/** The main thread's end: every connection on `socketPath` is handed to `server` as if it had accepted it. */
export async function listenForRelay (server: http.Server, socketPath: string): Promise<net.Server> {
  // A relay connection is no client's: not counted as open nor held to MAX_CONNECTIONS.
  const inner = net.createServer((socket) => { internalConnection(socket); server.emit('connection', socket) })
  await new Promise<void>((resolve, reject) => {
    inner.once('error', reject)
    inner.listen(socketPath, () => { inner.off('error', reject); resolve() })
  })
  return inner
}
