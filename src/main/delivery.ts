// Whether a response reached the client: node:http emits 'finish' on a
// response once all of it is written to the socket, and 'close' on its
// request when the connection closes first. A response queued behind another
// in a pipeline gets no 'close' of its own if the connection dies before its
// turn (node:http's abortIncoming destroys the requests only), so the
// request's is the one to watch.

import type { ServerResponse } from 'node:http'

/** Calls `settle(true)` once `res` is completely written, or `settle(false)` if its connection closes first; once. */
export function onDelivery (res: ServerResponse, settle: (delivered: boolean) => void): void {
  let done = false
  // `on`, not `once`: each event comes at most once on these objects, and
  // once's wrapper and its removal cost a pipelined response about 2 % of
  // its CPU (bench/results/cpu.md).
  res.on('finish', () => {
    if (done) return
    done = true
    settle(true)
  })
  res.req.on('close', () => {
    if (done) return
    done = true
    settle(false)
  })
}
