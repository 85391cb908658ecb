// The result of `podmeter load tcp://…`: the HTTP result's document
// (result.ts), so that files, compare and merge read it as they read any
// load result, where it means the same: a message for a request, its round
// trip for end to end, method TCP, no status codes and no server time (a
// TCP echo has no header to carry one). What only TCP has is in `tcp`: the
// payload, the bytes each way, the connect times, the failures by kind, and
// the pod's own figures for the echo when --stats-url read them.

import type { LoadRun } from './engine.js'
import { getText } from './get-text.js'
import { buildResult, type LoadResult, type TargetStats } from './result.js'
import { TCP_FAILURES, type TcpFailure, type TcpTransport } from './tcp-transport.js'
import { encode, summarizeMs, type MsSummary } from '../shared/hdr.js'

export type TcpErrorKind = TcpFailure | 'timeout'

export interface TcpFigures {
  /** Bytes per message. */
  payload_bytes: number
  /** Warm-up messages (--warmup) sent and echoed: not measured, but the pod counts them too. */
  warmup_messages: { sent: number, echoed: number }
  /** Bytes of the measured messages written, and of those echoed back whole. */
  bytes_sent: number
  bytes_received: number
  /** Connect times of every connection opened (warm-up included), ms, and their HDR histogram. */
  connect_ms: MsSummary
  connect_histogram: string
  /** Measured messages failed, by kind (docs/client.md, "Errors"); they sum to `errors`. */
  error_kinds: Record<TcpErrorKind, number>
  error_examples: Partial<Record<TcpErrorKind, string>>
  /** The pod's /stats `tcp_echo` block after the run (since its last reset, warm-up included), with --stats-url; else null. */
  pod: Record<string, unknown> | null
}

export interface TcpLoadResult extends LoadResult {
  tcp: TcpFigures
}

/** What the result says of a TCP run: the HTTP result's build, without what TCP does not have. */
export function buildTcpResult (run: LoadRun, transport: TcpTransport, payloadBytes: number, startedAt: Date, target: { stats: TargetStats | null, pod: Record<string, unknown> | null }, interrupted: boolean): TcpLoadResult {
  const base = buildResult(run, startedAt, target.stats, interrupted)
  // Every message is "untimed" to the engine, which looks for a Server-Timing: no server time, no overhead, no status.
  delete base.latency_ms.server
  delete base.latency_ms.overhead
  delete base.histograms.server
  delete base.histograms.overhead
  base.status_codes = {}
  base.server_timing = { missing: 0, overhead_negative: 0 }
  // What each message carries is the TCP load's payload.
  base.fingerprint.payload = { method: 'TCP', request_body_bytes: payloadBytes }
  const rec = run.rec
  const kinds = { ...transport.failures, timeout: rec.errors.timeout } as Record<TcpErrorKind, number>
  const examples: Partial<Record<TcpErrorKind, string>> = { ...transport.examples }
  if (rec.examples.timeout !== undefined) examples.timeout = rec.examples.timeout
  const connect = transport.connect
  return {
    ...base,
    tcp: {
      payload_bytes: payloadBytes,
      warmup_messages: { sent: run.warmupSent, echoed: run.warmupResponses },
      bytes_sent: transport.bytesSent,
      bytes_received: rec.bytes,
      connect_ms: summarizeMs(connect.h, run.options.percentiles, connect.exact),
      connect_histogram: encode(connect.h),
      error_kinds: Object.fromEntries([...TCP_FAILURES, 'timeout'].map((k) => [k, kinds[k as TcpErrorKind]])) as Record<TcpErrorKind, number>,
      error_examples: examples,
      pod: target.pod
    }
  }
}

/** The pod's `tcp_echo` block from its /stats; null if it cannot be read within a second or two, or has none. */
export async function fetchPodEcho (url: string): Promise<Record<string, unknown> | null> {
  try {
    const res = await getText(url, 2000)
    if (res.status !== 200) return null
    const echo = (JSON.parse(res.text) as { tcp_echo?: unknown }).tcp_echo
    return echo !== null && typeof echo === 'object' ? echo as Record<string, unknown> : null
  } catch {
    return null
  }
}
