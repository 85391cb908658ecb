// A small GET for the control requests of the command line (a target's
// /stats after a run, a replica's /stats/histogram for merge), on node:http:
// its parser is built in, so an open-loop run, which sends its load on
// plain sockets, never loads undici or compiles its WebAssembly for one
// request at the end.

import http from 'node:http'
import https from 'node:https'

/** A body larger than this is refused: a /stats/histogram answer is a few KiB. */
const MAX_BYTES = 16 * 1024 * 1024

/** The status and body text of `GET href`; rejects on a network error, a timeout over the whole exchange or an oversized body. */
export async function getText (href: string, timeoutMs: number): Promise<{ status: number, text: string }> {
  const url = new URL(href)
  const get = url.protocol === 'https:' ? https.get : http.get
  return await new Promise((resolve, reject) => {
    const req = get(url, { agent: false, timeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        size += c.length
        if (size > MAX_BYTES) { req.destroy(new Error(`the answer is over ${MAX_BYTES} bytes`)); return }
        chunks.push(c)
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    req.on('error', reject)
  })
}
