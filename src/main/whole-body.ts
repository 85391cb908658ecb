// When a state-changing route (POST /stats/reset, the fault route) may act:
// only once its request has arrived whole and well framed. Its handler runs
// when the headers are in; a body that then fails to parse (a bad chunk, a
// connection cut short) ends in a 400 from connection-guard.ts or a closed
// socket, and must leave nothing changed. The body itself is read and dropped:
// these routes take none.

import type { IncomingMessage } from 'node:http'

/**
 * Runs `act` once `req`'s body has been read in full, at once when it has
 * none (no Transfer-Encoding, no Content-Length above 0): nothing is left to
 * fail then, and a request pipelined behind it is still handled after it.
 * Never runs `act` when the body fails.
 */
export function afterBody (req: IncomingMessage, act: () => void): void {
  const length = req.headers['content-length']
  if (req.headers['transfer-encoding'] === undefined && (length === undefined || Number(length) === 0)) {
    act()
    return
  }
  // 'end' comes only after the parser has seen the message complete; on a
  // parse error or a cut connection the request ends with 'error' or 'close'
  // instead, and `act` is dropped with it.
  req.once('end', act)
  req.on('error', () => {})
  req.resume()
}
