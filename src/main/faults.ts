// POST /debug/worker/crash?mode=throw|exit|stall[&ms=N]: fault injection for
// tests and chaos drills, present only with PODMETER_FAULTS=on (off by
// default: the route does not exist, so it answers 404), and behind the admin
// token when one is set.
//
//   throw   the worker's next drain stops half way and the thread dies of an uncaught exception
//   exit    the same, ended by process.exit() inside the worker
//   stall   the worker blocks for `ms` (default 10000, at most 60000): /stats
//           answers 503 after STATS_TIMEOUT_MS, and a worker that completes
//           nothing for two timeouts is replaced

import { ApiError } from '../shared/errors.js'
import { FAULT_MODES, type FaultMode } from '../shared/protocol.js'
import type { AdminGate } from './admin.js'
import type { HistogramPool } from './pool.js'
import { type Routes, sendError, sendJson } from './reply.js'
import { afterBody } from './whole-body.js'

const MAX_STALL_MS = 60_000

export function parseFault (url: string): { mode: FaultMode, ms: number } | ApiError {
  const q = url.indexOf('?')
  const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1))
  const mode = params.get('mode')
  if (mode === null || !isFaultMode(mode)) {
    return new ApiError('INVALID_FAULT', `mode ${JSON.stringify(mode?.slice(0, 64) ?? '')} is not a fault: use mode=throw, exit or stall`)
  }
  const msText = params.get('ms') ?? '10000'
  const ms = /^\d{1,5}$/.test(msText) ? Number(msText) : Number.NaN
  if (!(ms >= 1 && ms <= MAX_STALL_MS)) return new ApiError('INVALID_FAULT', `ms ${JSON.stringify(msText.slice(0, 64))} is not a stall: use whole ms from 1 to ${MAX_STALL_MS}`)
  return { mode, ms }
}

function isFaultMode (text: string): text is FaultMode {
  return (FAULT_MODES as readonly string[]).includes(text)
}

export function faultRoutes (pool: HistogramPool, gate: AdminGate): Routes {
  return {
    '/debug/worker/crash': {
      POST: (req, res) => {
        const refused = gate.admin(req, 'POST /debug/worker/crash')
        if (refused !== undefined) return sendError(res, refused.error, refused.headers)
        const f = parseFault(req.url as string)
        if (f instanceof ApiError) return sendError(res, f)
        afterBody(req, () => {
          const taken = pool.fault(f.mode, f.ms)
          if (f.mode === 'stall') {
            // Answered at once: the worker is busy for `ms` from now.
            taken.catch(() => {})
            return sendJson(res, 202, { fault: 'stall', ms: f.ms })
          }
          taken.then(
            () => sendJson(res, 202, { fault: f.mode, armed: true, note: 'the worker dies in the middle of its next drain; piscina starts a replacement on the same shared memory' }),
            (err: Error) => sendError(res, err instanceof ApiError ? err : new ApiError('STATS_UNAVAILABLE', err.message))
          )
        })
      }
    }
  }
}
