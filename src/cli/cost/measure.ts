// The cost of one finished load run: its measured window and rate from the
// engine and the result, the server's pod, namespace and node from its
// /stats, the client's node from the options; then collect.ts. A cost that
// could not be measured is said on stderr, and the run goes on.

import type { LoadRun } from '../engine.js'
import type { LoadResult } from '../result.js'
import { collectCost, type Cost, NOT_ASKED } from './collect.js'
import type { CostOptions } from './options.js'

/**
 * Per query. A stopped run's pod may be killed soon (the client Job's grace
 * is 15 s, /stats takes up to 2): its result must be written before that.
 */
const TIMEOUT_MS = 5000
const INTERRUPTED_TIMEOUT_MS = 2000

/** The measured window of a run, unix seconds: from the start of the measured part to its last answer (the result's duration_seconds). */
export function measuredWindow (run: LoadRun): { start: number, end: number } {
  const start = (performance.timeOrigin + run.measureStart) / 1000
  return { start, end: Math.max(start, (performance.timeOrigin + run.lastEnd) / 1000) }
}

export async function measureCost (options: CostOptions | null, run: LoadRun, result: LoadResult, label?: string): Promise<Cost> {
  if (options === null) return NOT_ASKED
  const stats = result.target_stats
  let cost: Cost
  try {
    cost = await collectCost(options, {
      ...measuredWindow(run),
      rps: result.rate,
      namespace: stats?.pod_namespace ?? options.namespace,
      pod: stats?.pod_name ?? null,
      node: result.server_node,
      clientNode: result.client_node
    }, result.interrupted ? INTERRUPTED_TIMEOUT_MS : TIMEOUT_MS)
  } catch (err) {
    cost = { measured: false, reason: (err as Error).message }
  }
  if (!cost.measured) process.stderr.write(`podmeter: ${label === undefined ? '' : `${label}: `}cost not measured: ${cost.reason}\n`)
  return cost
}
