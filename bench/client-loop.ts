// The client's own parts of `npm run bench`: what `podmeter load` costs and
// whether its figures and verdicts hold.
//
//   openloop  CPU per request of the client (its own client_cpu, every
//             thread) in closed loop at full rate, in open loop at
//             1,000 req/s over 10 connections for 10 s (and the whole
//             process's, by the shell's `times`; with WRK2=path/to/wrk2's
//             wrk, wrk2's beside it in the same rounds), and in open loop at
//             80 % of the closed-loop rate; rounds interleaved
//   stall     open loop at 1,000 req/s for 10 s, the server SIGSTOPped for
//             1 s: the corrected p99 against the stall-dominated true value
//             (stall − 1 % of the run), once with the client's core quiet
//             and once with a CPU hog on it
//   verdict   10 live compares of one target against itself (an A/A test:
//             only time separates the two), 10 of two identical processes
//             (process-to-process differences count too) and 10 of delay=0
//             against delay=1ms: how often each is called different

import { spawn } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import type { Comparison } from '../src/cli/comparison.js'
import { buildRows } from '../src/cli/comparison.js'
import type { LoadResult } from '../src/cli/result.js'
import { bareArgs, CLIENT_CPU, median, pinnedClient, podmeterArgs, sleep, spread, startPinned } from './lib.js'
import { raw, ROUNDS, row } from './report.js'

const file = (name: string): string => join(os.tmpdir(), `podmeter-bench-${process.pid}-${name}.json`)

/** The result, and the CPU seconds of the whole process (start-up and exit included), by the shell's `times`. */
type Timed = LoadResult & { process_cpu_seconds: number }

/** One `podmeter load` pinned to the client CPU; its result. */
async function load (args: string[]): Promise<Timed> {
  const out = file('load')
  const text = await pinnedClient('sh', ['-c', '"$0" "$@"; rc=$?; times; exit $rc', process.execPath, 'dist/src/cli/main.js', 'load', '-q', '--no-stats', ...args, '-o', out])
  const r = JSON.parse(readFileSync(out, 'utf8')) as Timed
  rmSync(out, { force: true })
  r.process_cpu_seconds = childCpuSeconds(text)
  return r
}

/** The children's CPU seconds from the last line of the shell's `times`: "0m1.230000s 0m0.250000s". */
function childCpuSeconds (text: string): number {
  const children = text.trim().split('\n').at(-1) ?? ''
  return [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0)
}

/** wrk2 (WRK2=path to its wrk binary; built beside the project, never shipped) at 1,000 req/s over 10 connections for 10 s: its CPU seconds. */
async function wrk2 (url: string): Promise<number> {
  return childCpuSeconds(await pinnedClient('sh', ['-c', '"$0" "$@" >/dev/null; rc=$?; times; exit $rc', process.env.WRK2 as string, '-t1', '-c10', '-R1000', '-d10s', url]))
}

const cpuSeconds = (r: LoadResult): number => r.client_cpu.user_seconds + r.client_cpu.system_seconds

export async function openloop (): Promise<void> {
  process.stderr.write('openloop: the client\'s CPU per request, closed and open loop, against bare node:http\n')
  const bare = await startPinned(bareArgs(0))
  const url = `http://127.0.0.1:${bare.port}/`
  const runs: Record<string, Timed[]> = { closed: [], open1000: [], open80: [] }
  const wrk2Cpu: number[] = []
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const closed = await load(['-c', '10', '-d', '5s', url])
      runs.closed!.push(closed)
      const high = Math.round(closed.rate * 0.8)
      const order: Array<() => Promise<void>> = [
        async () => { runs.open1000!.push(await load(['--qps', '1000', '-c', '10', '-d', '10s', url])) },
        async () => { runs.open80!.push(await load(['--qps', String(high), '-c', '10', '-d', '5s', url])) }
      ]
      if (process.env.WRK2 !== undefined) order.splice(1, 0, async () => { wrk2Cpu.push(await wrk2(url)) })
      if (r % 2 === 1) order.reverse()
      for (const run of order) await run()
    }
  } finally {
    await bare.stop()
  }
  raw.openloop = runs
  const us = (v: LoadResult[]): number[] => v.map((x) => x.client_cpu.us_per_request ?? Number.NaN)
  row('openloop', 'client CPU s, --qps 1000 -c 10 -d 10s (1 s warm-up included)', spread(runs.open1000!.map(cpuSeconds)), '≤ 1.5', median(runs.open1000!.map(cpuSeconds)) <= 1.5)
  row('openloop', 'the same, the whole process (start-up and exit included)', spread(runs.open1000!.map((x) => x.process_cpu_seconds)), '≤ 1.5', median(runs.open1000!.map((x) => x.process_cpu_seconds)) <= 1.5)
  if (wrk2Cpu.length > 0) {
    row('openloop', 'wrk2 -t1 -c10 -R1000 -d10s, the whole process, CPU s (same rounds)', spread(wrk2Cpu))
    row('openloop', 'podmeter ÷ wrk2, whole process CPU', spread(runs.open1000!.map((x, i) => x.process_cpu_seconds / (wrk2Cpu[i] ?? Number.NaN))))
  }
  row('openloop', 'client µs per request, closed loop -c 10', spread(us(runs.closed!), 1))
  row('openloop', 'client µs per request, open loop at 1,000 req/s', spread(us(runs.open1000!), 1))
  row('openloop', 'client µs per request, open loop at 80 % of the closed-loop rate', spread(us(runs.open80!), 1))
  const ratio = runs.open80!.map((o, i) => (o.client_cpu.us_per_request ?? Number.NaN) / (runs.closed![i]?.client_cpu.us_per_request ?? Number.NaN))
  row('openloop', 'µs per request, open loop at 80 % ÷ closed loop', spread(ratio), '≤ 1.0', median(ratio) <= 1)
  row('openloop', 'schedule kept at 1,000 req/s (runs)', `${runs.open1000!.filter((x) => x.schedule_kept === true).length} of ${runs.open1000!.length}`)
}

/** An open-loop run at 1,000 req/s with the server stopped for 1 s after 4 s; `hog` puts a CPU hog on the client's core. */
async function stalledRun (hog: boolean): Promise<{ p99: number, expected: number, kept: boolean | null, lagP99: number | null }> {
  const pm = await startPinned(podmeterArgs(0, ['--delay-ms', '0']))
  const hogs = hog ? [spawn('taskset', ['-c', CLIENT_CPU, 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' })] : []
  try {
    const running = load(['--qps', '1000', '-c', '10', '-d', '10s', `http://127.0.0.1:${pm.port}/`])
    // 1 s of warm-up, then 4 s of the measured part.
    await sleep(5000)
    const stoppedAt = performance.now()
    pm.child.kill('SIGSTOP')
    await sleep(1000)
    pm.child.kill('SIGCONT')
    const stallMs = performance.now() - stoppedAt
    const r = await running
    return {
      p99: r.latency_ms.e2e?.percentiles['99'] ?? Number.NaN,
      // The requests due in the stall's first (stall − p99) ms are the slowest 1 %.
      expected: stallMs - 0.01 * r.duration_seconds * 1000,
      kept: r.schedule_kept,
      lagP99: r.schedule?.lag_p99_ms ?? null
    }
  } finally {
    for (const h of hogs) h.kill('SIGKILL')
    pm.child.kill('SIGCONT')
    await pm.stop()
  }
}

export async function stall (): Promise<void> {
  process.stderr.write('stall: a 1 s SIGSTOP at 1,000 req/s, corrected p99 against the stall-dominated value\n')
  const out: Record<string, unknown> = {}
  for (const hog of [false, true]) {
    const s = await stalledRun(hog)
    out[hog ? 'hog' : 'quiet'] = s
    const off = (s.p99 - s.expected) / s.expected
    const within = Math.abs(off) <= 0.1
    const label = hog ? 'a CPU hog on the client core' : 'the client core quiet'
    row('stall', `corrected p99 ms, ${label} (true ≈ ${s.expected.toFixed(0)})`, `${s.p99.toFixed(1)} (${off >= 0 ? '+' : ''}${(off * 100).toFixed(1)} %), schedule ${s.kept === true ? 'kept' : 'NOT kept'}, lag p99 ${s.lagP99?.toFixed(3) ?? '–'} ms`,
      hog ? 'within 10 % or flagged' : 'within 10 %', hog ? within || s.kept === false : within)
  }
  raw.stall = out
}

/** One live compare of two URLs, 5 rounds; whether its end-to-end p50 verdict called them different, and each side's per-round p50s. */
async function compareOnce (a: string, b: string): Promise<{ significant: boolean | null, p50s: number[][] }> {
  const out = file('compare')
  await pinnedClient(process.execPath, ['dist/src/cli/main.js', 'compare', '-q', '--no-stats', '--rounds', '5', '-d', '1s', '--warmup', '500ms', '-c', '4', '-t', `a=${a}`, '-t', `b=${b}`, '-o', out])
  const c = JSON.parse(readFileSync(out, 'utf8')) as Comparison
  rmSync(out, { force: true })
  const p50 = buildRows(c, [50]).find((r) => r.title === 'end to end p50')
  return {
    significant: p50?.verdicts[0]?.verdict.significant ?? null,
    p50s: c.targets.map((t) => t.rounds.map((r) => r.latency_ms.e2e?.percentiles['50'] ?? Number.NaN))
  }
}

export async function verdict (): Promise<void> {
  process.stderr.write('verdict: 10 live compares each: one target against itself, two identical processes, delay=0 vs delay=1ms\n')
  const a = await startPinned(podmeterArgs(0, ['--delay-ms', '0']))
  const b = await startPinned(podmeterArgs(0, ['--delay-ms', '0']))
  const results: Record<'itself' | 'twins' | 'apart', Array<{ significant: boolean | null, p50s: number[][] }>> = { itself: [], twins: [], apart: [] }
  const urlA = `http://127.0.0.1:${a.port}/?delay=0`
  try {
    for (let i = 0; i < 10; i++) {
      results.itself.push(await compareOnce(urlA, urlA))
      results.twins.push(await compareOnce(urlA, `http://127.0.0.1:${b.port}/?delay=0`))
      results.apart.push(await compareOnce(urlA, `http://127.0.0.1:${b.port}/?delay=1ms`))
    }
  } finally {
    await a.stop()
    await b.stop()
  }
  raw.verdict = results
  const none = (k: 'itself' | 'twins'): number => results[k].filter((s) => s.significant === false).length
  const apart = results.apart.filter((s) => s.significant === true).length
  row('verdict', 'one target against itself (A/A): compares with no significant difference at the e2e p50', `${none('itself')} of 10`, '≥ 9 of 10 (at 5 %, one in 20 is expected)', none('itself') >= 9)
  row('verdict', 'two identical processes: compares with no significant difference at the e2e p50', `${none('twins')} of 10`, '≥ 9 of 10', none('twins') >= 9)
  row('verdict', 'delay=0 vs delay=1ms: compares that found it at the e2e p50', `${apart} of 10`, '≥ 9 of 10', apart >= 9)
}
