// `podmeter load URL`: drives load at a target and reports end-to-end latency
// split into the server's own time (its Server-Timing header) and the
// overhead between client and server, with status codes, errors by kind,
// rate and connections. -o writes everything, histograms included; --json
// (or -o -) writes it to stdout and everything for people to stderr.
//
// Exit codes: 0 a run that measured, 1 no request was answered, 2 usage,
// 130 interrupted (SIGINT; the result is still written, interrupted: true).

import { open, type FileHandle } from 'node:fs/promises'
import { type CommandSpec, parseArgs, Reader, UsageError } from './args.js'
import { type EngineHandler, LoadRun } from './engine.js'
import { fmtByteRate, fmtInt, fmtMs, fmtNum, fmtPayload, pName, textTable } from './format.js'
import { LOAD_OPTIONS, type LoadOptions, parseUrl, readLoadOptions } from './load-options.js'
import { LeanTransport } from './lean-transport.js'
import { Progress } from './progress.js'
import { buildResult, fetchTargetStats, type LatencyName, type LoadResult } from './result.js'
import type { Transport } from './transport.js'
import { isTcpTarget, refuseTcpOnly, TCP_OPTIONS } from './tcp-options.js'
import { costLines } from './cost/describe.js'
import { measureCost } from './cost/measure.js'

export const LOAD_SPEC: CommandSpec = {
  command: 'load',
  usage: '[options] URL',
  summary: 'Sends requests to URL and measures, per request, end-to-end latency, the server\'s own time (Server-Timing: app;dur=…) and the overhead between them.',
  options: [
    ...LOAD_OPTIONS,
    ...TCP_OPTIONS,
    { name: 'output', short: 'o', value: 'FILE', help: 'write the full result, histograms included, as JSON (- for stdout)' },
    { name: 'json', help: 'the result JSON on stdout, the summary on stderr (like -o -)' },
    { name: 'quiet', short: 'q', help: 'no progress on stderr' }
  ],
  notes: [
    'Closed loop by default: each connection sends its next request when the previous answer ends. With --qps the requests follow a fixed timetable and latency counts from the time each was due, so a stalled server shows in the figures (coordinated omission corrected); the uncorrected figure is reported beside it, and so is how late the client sent each request (client lag). -d ends an open-loop run on time: requests due but not sent by then are counted as missed. A client that sent less than 95 % of what fell due, or whose own lag p99 (after a request was due and a connection free) passed 3 ms, did not keep its schedule: it says so on stderr and in the result (schedule_kept: false).',
    'A tcp://host:port URL loads a TCP echo (PodMeter\'s TCP_ECHO_PORT): --payload bytes per message over -c connections, closed loop or --rate, measuring each connection\'s connect time and each message\'s round trip; -m, -H, -b, -P and --qps are for HTTP.',
    'With --prometheus (or $PODMETER_PROMETHEUS) the result\'s cost holds the CPU and memory of the app, its sidecar, ztunnel and the waypoint over the measured window, from cAdvisor\'s series, and each per 1,000 req/s; a Prometheus that fails leaves the cost not measured, with the reason, and the run succeeds (docs/cost.md).',
    'Durations: 500ms, 10s, 2m; a bare number is seconds. Ctrl-C stops early and still reports.',
    'Exit codes: 0 the run measured; 1 no request was answered (unreachable target, every request failed); 2 usage; 130 interrupted by Ctrl-C (the result says interrupted: true).'
  ]
}

export async function loadCommand (argv: string[]): Promise<number> {
  const parsed = parseArgs(argv, LOAD_SPEC)
  if (parsed.positionals.length !== 1) throw new UsageError(parsed.positionals.length === 0 ? 'needs the URL to load' : `one URL only, got ${parsed.positionals.length}: ${parsed.positionals.join(' ')}`)
  if (isTcpTarget(parsed.positionals[0] as string)) return await (await import('./tcp-load.js')).tcpLoadCommand(parsed)
  const r = new Reader(parsed, LOAD_SPEC)
  refuseTcpOnly(r)
  const options = readLoadOptions(r, parseUrl(parsed.positionals[0] as string))
  const output = r.string('output')
  const json = r.flag('json') || output === '-'
  // Opened (and so checked) before the run: a bad path fails now, not after it.
  const file = output === undefined || output === '-' ? undefined : await openOutput(output)
  const human = json ? process.stderr : process.stdout
  let result: LoadResult
  try {
    result = await loadOnce(options, { progress: !r.flag('quiet') })
    human.write(describe(result) + '\n')
    if (file !== undefined) {
      await file.writeFile(JSON.stringify(result, null, 2) + '\n')
      human.write(`  wrote ${output as string}\n`)
    }
  } finally {
    await file?.close()
  }
  if (result.schedule_kept === false) process.stderr.write(behind(result) + '\n')
  if (json) process.stdout.write(JSON.stringify(result) + '\n')
  if (result.interrupted) return 130
  if (result.responses === 0) {
    process.stderr.write(`podmeter load: no request was answered (${fmtInt(result.errors)} failed: ${errorSummary(result)})\n`)
    return 1
  }
  return 0
}

export async function openOutput (path: string): Promise<FileHandle> {
  try {
    return await open(path, 'w')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'its folder does not exist' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : (err as Error).message
    throw new UsageError(`-o/--output: cannot write ${JSON.stringify(path)}: ${why}`)
  }
}

/** The warning for a run whose client did not keep its schedule. */
export function behind (r: LoadResult): string {
  const s = r.schedule
  if (s === null) return ''
  const share = s.due > 0 ? (100 * s.sent) / s.due : 100
  return `podmeter load: the client fell behind its schedule: it sent ${fmtInt(s.sent)} of the ${fmtInt(s.due)} requests that fell due (${fmtNum(share, 1)} %, ${fmtNum(s.achieved_rate, 1)} of ${fmtNum(s.requested_rate, 1)} req/s), its own lag p99 (after a request was due and a connection free) was ${fmtMs(s.own_lag_p99_ms)} ms; the latency figures include the client's own delay`
}

function errorSummary (r: LoadResult): string {
  const e = r.error_kinds
  return `refused ${fmtInt(e.refused)}, timeout ${fmtInt(e.timeout)}, reset ${fmtInt(e.reset)}, other ${fmtInt(e.other)}`
}

/** One run with progress and Ctrl-C handling, then the target's /stats. */
export async function loadOnce (options: LoadOptions, ui: { progress: boolean, label?: string }): Promise<LoadResult> {
  const startedAt = new Date()
  const run = new LoadRun(options, await transportFor(options))
  let interrupted = false
  const onSigint = (): void => { interrupted = true; run.stop() }
  process.once('SIGINT', onSigint)
  const progress = ui.progress ? new Progress(run, process.stderr, ui.label) : undefined
  try {
    await run.done
  } finally {
    progress?.stop()
    process.off('SIGINT', onSigint)
  }
  const stats = options.statsUrl === null ? null : await fetchTargetStats(options.statsUrl)
  const result = buildResult(run, startedAt, stats, interrupted)
  result.cost = await measureCost(options.cost, run, result, ui.label)
  return result
}

const ROWS: Array<[LatencyName, string]> = [
  ['e2e', 'end to end'],
  ['e2e_uncorrected', 'end to end, uncorrected'],
  ['server', 'server time'],
  ['overhead', 'overhead'],
  ['client_lag', 'client lag']
]

/** The human summary of a result. */
export function describe (r: LoadResult): string {
  const lines: string[] = []
  lines.push(`podmeter load ${r.method} ${r.url}${r.label === null ? '' : `  [${r.label}]`}`)
  if (r.interrupted) lines.push('  interrupted (Ctrl-C): the figures cover the run until then')
  const shape = r.mode === 'open'
    ? `open loop at ${fmtNum(r.requested_rate, 1)} req/s on a timetable, ${r.connections} connections`
    : `closed loop, ${r.connections} connections${r.pipelining > 1 ? ` × ${r.pipelining} pipelined` : ''}`
  lines.push(`  ${shape}, ${r.duration_seconds.toFixed(2)} s measured${r.warmup_seconds > 0 ? ` after ${r.warmup_seconds} s warm-up` : ', cold (--warmup 0): the first requests include the client\'s own warm-up'}`)
  const s = r.schedule
  if (s !== null) {
    lines.push(`  schedule    ${fmtInt(s.sent)} sent of ${fmtInt(s.due)} due${s.missed > 0 ? ` (${fmtInt(s.missed)} missed)` : ''}, lag p50 ${fmtMs(s.lag_p50_ms)} / p99 ${fmtMs(s.lag_p99_ms)} ms (own p99 ${fmtMs(s.own_lag_p99_ms)}): ${s.kept ? 'kept' : 'NOT kept'}`)
  }
  const requested = r.requested_rate === null ? 'as fast as answered' : `${fmtNum(r.requested_rate, 1)} requested`
  lines.push(`  rate        ${fmtNum(r.rate, 1)} req/s (${requested})`)
  lines.push(`  requests    ${fmtInt(r.sent)} sent, ${fmtInt(r.responses)} answered, ${fmtInt(r.errors)} failed${r.cancelled > 0 ? `, ${fmtInt(r.cancelled)} cut off by the stop` : ''}`)
  const statuses = Object.entries(r.status_codes).map(([s, n]) => `${s} × ${fmtInt(n)}`).join(', ')
  lines.push(`  status      ${statuses === '' ? 'none' : statuses}`)
  const e = r.error_kinds
  lines.push(`  errors      timeout ${fmtInt(e.timeout)}, reset ${fmtInt(e.reset)}, refused ${fmtInt(e.refused)}, other ${fmtInt(e.other)}`)
  for (const [kind, message] of Object.entries(r.error_examples)) lines.push(`              first ${kind}: ${message}`)
  lines.push(`  connections ${fmtInt(r.connections_opened)} opened`)
  lines.push(`  bytes       ${fmtInt(r.bytes_sent)} sent (${fmtByteRate(r.bytes_sent_per_second)}), ${fmtInt(r.bytes_received)} received (${fmtByteRate(r.bytes_received_per_second)}); bodies only`)
  const answers = r.payload.response_body_bytes
  const answered = answers === null ? 'no answer' : answers.min === answers.max ? `answers of ${fmtInt(answers.min)} bytes` : `answers of ${fmtInt(answers.min)} to ${fmtInt(answers.max)} bytes (mean ${fmtNum(answers.mean, 1)})`
  lines.push(`  payload     ${fmtPayload(r.payload.method, r.payload.request_body_bytes)}; ${answered}`)
  if (r.client_node !== null || r.server_node !== null) lines.push(`  placement   ${r.placement} (client on ${r.client_node ?? 'an unknown node'}, server on ${r.server_node ?? 'an unknown node'})`)
  const cpu = r.client_cpu
  lines.push(`  client CPU  ${fmtNum(cpu.user_seconds + cpu.system_seconds, 2)} s (user ${fmtNum(cpu.user_seconds, 2)}, system ${fmtNum(cpu.system_seconds, 2)}), ${fmtNum(cpu.us_per_request, 1)} µs per request`)
  if (r.server_timing.missing > 0) lines.push(`  note        ${fmtInt(r.server_timing.missing)} answers had no Server-Timing app;dur=: no server time or overhead for them`)
  if (r.server_timing.overhead_negative > 0) lines.push(`  note        ${fmtInt(r.server_timing.overhead_negative)} answers said the server took longer than the client waited: overhead counted as 0`)
  lines.push('')
  const header = ['latency, ms', ...r.percentiles.map(pName), 'min', 'max', 'mean']
  const rows = ROWS.filter(([name]) => r.latency_ms[name] !== undefined).map(([name, title]) => {
    const s = r.latency_ms[name]!
    return [title, ...r.percentiles.map((p) => fmtMs(s.percentiles[String(p)])), fmtMs(s.min), fmtMs(s.max), fmtMs(s.mean)]
  })
  lines.push(textTable(header, rows))
  if (r.mode === 'open') lines.push('  (end to end counts from when each request was due; uncorrected, from when it was sent; client lag is the difference)')
  const t = r.target_stats
  if (t !== null) {
    const parts = [
      t.memory_sys_mb == null ? undefined : `app RSS ${fmtNum(t.memory_sys_mb, 1)} MiB`,
      t.container_memory_working_set_mb == null ? undefined : `working set ${fmtNum(t.container_memory_working_set_mb, 1)} MiB`,
      t.sidecar_memory_mb == null ? undefined : `sidecar ${fmtNum(t.sidecar_memory_mb, 1)} MiB`,
      t.service_mesh_mode == null ? undefined : `mode ${t.service_mesh_mode}`
    ].filter((x) => x !== undefined)
    if (parts.length > 0) lines.push('', `  target      ${parts.join(', ')}`)
  }
  lines.push(...costLines(r.cost))
  return lines.join('\n')
}

/** Plain sockets for the open loop, which must sleep cheaply; undici, loaded only then, for the closed loop. */
async function transportFor (options: LoadOptions): Promise<Transport<EngineHandler>> {
  if (options.qps !== undefined) return new LeanTransport(options)
  const { UndiciTransport } = await import('./undici-transport.js')
  return new UndiciTransport(options)
}
