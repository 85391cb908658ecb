// `podmeter load tcp://host:port`: load on a TCP echo (PodMeter's
// TCP_ECHO_PORT, or any echo server), for what a mesh costs at L4 without
// HTTP on top. The HTTP load's engine (engine.ts) runs it, with the same
// closed loop (-c connections, each sending its next message when the last
// came back whole) and the same open loop (--rate on a timetable, latency
// from each message's due time, coordinated omission corrected), over TCP
// connections of its own (tcp-transport.ts). It measures the connect time of
// each connection and the round trip of each message, and writes the HTTP
// load's kind of result (tcp-result.ts) and summary.
//
// Exit codes as for HTTP: 0 a run that measured, 1 no message came back, 2
// usage, 130 interrupted (SIGINT; the result is still written).

import { randomBytes } from 'node:crypto'
import { type Parsed, Reader } from './args.js'
import { LoadRun } from './engine.js'
import { fmtInt, fmtMs, fmtNum, pName, textTable } from './format.js'
import { behind, LOAD_SPEC, openOutput } from './load.js'
import { Progress } from './progress.js'
import { fetchTargetStats } from './result.js'
import { parseTcpUrl, readTcpLoadOptions, type TcpLoadOptions } from './tcp-options.js'
import { buildTcpResult, fetchPodEcho, type TcpLoadResult } from './tcp-result.js'
import { costLines } from './cost/describe.js'
import { measureCost } from './cost/measure.js'
import { TcpTransport } from './tcp-transport.js'
import type { MsSummary } from '../shared/hdr.js'

export async function tcpLoadCommand (parsed: Parsed): Promise<number> {
  const r = new Reader(parsed, LOAD_SPEC)
  const options = readTcpLoadOptions(r, parseTcpUrl(parsed.positionals[0] as string))
  const output = r.string('output')
  const json = r.flag('json') || output === '-'
  // Opened (and so checked) before the run: a bad path fails now, not after it.
  const file = output === undefined || output === '-' ? undefined : await openOutput(output)
  const human = json ? process.stderr : process.stdout
  let result: TcpLoadResult
  try {
    result = await tcpLoadOnce(options, { progress: !r.flag('quiet') })
    human.write(describeTcp(result) + '\n')
    if (file !== undefined) {
      await file.writeFile(JSON.stringify(result, null, 2) + '\n')
      human.write(`  wrote ${output as string}\n`)
    }
  } finally {
    await file?.close()
  }
  if (result.schedule_kept === false) process.stderr.write(behind(result).replace(/request(s?)\b/g, 'message$1').replace(/req\/s/g, 'messages/s') + '\n')
  if (json) process.stdout.write(JSON.stringify(result) + '\n')
  if (result.interrupted) return 130
  if (result.responses === 0) {
    const kinds = Object.entries(result.tcp.error_kinds).map(([k, n]) => `${k} ${fmtInt(n)}`).join(', ')
    process.stderr.write(`podmeter load: no message came back (${fmtInt(result.errors)} failed: ${kinds})\n`)
    return 1
  }
  return 0
}

/** One run with progress and Ctrl-C handling, then, with --stats-url, the pod's figures. */
export async function tcpLoadOnce (options: TcpLoadOptions, ui: { progress: boolean }): Promise<TcpLoadResult> {
  const startedAt = new Date()
  // Random bytes: an echo that changed any of them is caught (ECHO_MISMATCH).
  const payload = randomBytes(options.payloadBytes)
  const transport = new TcpTransport({ host: options.host, port: options.port, payload, timeoutMs: options.load.timeoutUs / 1000 })
  const run = new LoadRun(options.load, transport)
  let interrupted = false
  const onSigint = (): void => { interrupted = true; run.stop() }
  process.once('SIGINT', onSigint)
  const progress = ui.progress ? new Progress(run, process.stderr, options.load.label) : undefined
  try {
    await run.done
  } finally {
    progress?.stop()
    process.off('SIGINT', onSigint)
  }
  const statsUrl = options.load.statsUrl
  const [stats, pod] = statsUrl === null ? [null, null] : await Promise.all([fetchTargetStats(statsUrl), fetchPodEcho(statsUrl)])
  const result = buildTcpResult(run, transport, options.payloadBytes, startedAt, { stats, pod }, interrupted)
  result.cost = await measureCost(options.load.cost, run, result)
  return result
}

/** The pod's figure for percentile `p` in its /stats keys (p50_latency_ms…), where it has one. */
function podFigure (pod: Record<string, unknown>, key: string): number | null {
  const v = pod[`${key}_latency_ms`]
  return typeof v === 'number' ? v : null
}

const row = (title: string, s: MsSummary, percentiles: readonly number[]): string[] =>
  [title, ...percentiles.map((p) => fmtMs(s.percentiles[String(p)])), fmtMs(s.min), fmtMs(s.max), fmtMs(s.mean)]

/** The human summary of a TCP result. */
export function describeTcp (r: TcpLoadResult): string {
  const t = r.tcp
  const lines: string[] = []
  lines.push(`podmeter load ${r.url}${r.label === null ? '' : `  [${r.label}]`}`)
  if (r.interrupted) lines.push('  interrupted (Ctrl-C): the figures cover the run until then')
  const shape = r.mode === 'open'
    ? `open loop at ${fmtNum(r.requested_rate, 1)} messages/s on a timetable, ${r.connections} connections`
    : `closed loop, ${r.connections} connections`
  lines.push(`  ${shape}, ${fmtInt(t.payload_bytes)}-byte messages, ${r.duration_seconds.toFixed(2)} s measured${r.warmup_seconds > 0 ? ` after ${r.warmup_seconds} s warm-up` : ', cold (--warmup 0)'}`)
  const s = r.schedule
  if (s !== null) {
    lines.push(`  schedule    ${fmtInt(s.sent)} sent of ${fmtInt(s.due)} due${s.missed > 0 ? ` (${fmtInt(s.missed)} missed)` : ''}, lag p50 ${fmtMs(s.lag_p50_ms)} / p99 ${fmtMs(s.lag_p99_ms)} ms (own p99 ${fmtMs(s.own_lag_p99_ms)}): ${s.kept ? 'kept' : 'NOT kept'}`)
  }
  const mib = (bytes: number): string => fmtNum(r.duration_seconds > 0 ? bytes / r.duration_seconds / 1048576 : 0, 2)
  lines.push(`  rate        ${fmtNum(r.rate, 1)} messages/s (${r.requested_rate === null ? 'as fast as echoed' : `${fmtNum(r.requested_rate, 1)} requested`}), ${mib(t.bytes_received)} MiB/s back`)
  lines.push(`  messages    ${fmtInt(r.sent)} sent, ${fmtInt(r.responses)} echoed, ${fmtInt(r.errors)} failed${r.cancelled > 0 ? `, ${fmtInt(r.cancelled)} cut off by the stop` : ''}`)
  lines.push(`  bytes       ${fmtInt(t.bytes_sent)} sent, ${fmtInt(t.bytes_received)} echoed`)
  lines.push(`  errors      ${Object.entries(t.error_kinds).map(([k, n]) => `${k} ${fmtInt(n)}`).join(', ')}`)
  for (const [kind, message] of Object.entries(t.error_examples)) lines.push(`              first ${kind}: ${message}`)
  lines.push(`  connections ${fmtInt(r.connections_opened)} opened`)
  const cpu = r.client_cpu
  lines.push(`  client CPU  ${fmtNum(cpu.user_seconds + cpu.system_seconds, 2)} s (user ${fmtNum(cpu.user_seconds, 2)}, system ${fmtNum(cpu.system_seconds, 2)}), ${fmtNum(cpu.us_per_request, 1)} µs per message`)
  lines.push('')
  const p = r.percentiles
  const rows: string[][] = []
  const e2e = r.latency_ms.e2e
  if (e2e !== undefined) rows.push(row('round trip', e2e, p))
  const uncorrected = r.latency_ms.e2e_uncorrected
  if (uncorrected !== undefined) rows.push(row('round trip, uncorrected', uncorrected, p))
  const lag = r.latency_ms.client_lag
  if (lag !== undefined) rows.push(row('client lag', lag, p))
  rows.push(row('connect', t.connect_ms, p))
  const pod = t.pod
  if (pod !== null) {
    const keyOf = (q: number): string => `p${String(q).replace('.', '')}`
    rows.push(['pod echo time', ...p.map((q) => fmtMs(podFigure(pod, keyOf(q)))), fmtMs(podFigure(pod, 'min')), fmtMs(podFigure(pod, 'max')), fmtMs(podFigure(pod, 'avg'))])
  }
  lines.push(textTable(['latency, ms', ...p.map(pName), 'min', 'max', 'mean'], rows))
  if (r.mode === 'open') lines.push('  (round trip counts from when each message was due; uncorrected, from when it was sent; client lag is the difference)')
  if (pod !== null) lines.push(`  (pod echo time: the pod's own, from its /stats tcp_echo, over its ${fmtInt(pod.messages as number)} messages since its last reset, warm-up included)`)
  lines.push(...costLines(r.cost))
  return lines.join('\n')
}
