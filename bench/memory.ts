// The memory part: idle RSS of PodMeter against a bare node:http server,
// and both again after a fixed load. BENCH_MEMORY_STARTS (default 5) fresh
// starts of each, interleaved; each reading is taken BENCH_MEMORY_IDLE_MS
// (default 2000) after the server printed its port, from /proc/<pid>/status.
// The load is wrk -c50 on `/?delay=0` for BENCH_MEMORY_LOAD_S (default 5)
// seconds, read again 2 s after it ends. Nothing else is asked of the server
// (no /stats, no /metrics), so what it loads on first use stays unloaded.
//
// RssFile is the node binary's pages the process has touched (code that ran,
// builtin sources, ICU data), RssAnon the heaps, stacks and buffers: the
// split says whether a difference is code that ran or memory kept.

import { readFileSync } from 'node:fs'
import { bareArgs, median, podmeterArgs, sleep, spread, startPinned, wrk, type Proc } from './lib.js'
import { raw, row } from './report.js'

const STARTS = Number(process.env.BENCH_MEMORY_STARTS ?? 5)
const IDLE_MS = Number(process.env.BENCH_MEMORY_IDLE_MS ?? 2000)
const LOAD_S = Number(process.env.BENCH_MEMORY_LOAD_S ?? 5)
/** Issue 17: idle RSS at most the bare server's plus this, MiB. */
const TARGET_MIB = 20

interface Reading { rss: number, anon: number, file: number }

/** VmRSS, RssAnon and RssFile of a process, MiB. */
function reading (p: Proc): Reading {
  const status = readFileSync(`/proc/${String(p.child.pid)}/status`, 'utf8')
  const kb = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN) / 1024
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') }
}

interface Start { idle: Reading, loaded: Reading, rps: number }

async function measure (args: string[]): Promise<Start> {
  const p = await startPinned(args)
  try {
    await sleep(IDLE_MS)
    const idle = reading(p)
    const { rps } = await wrk(`http://127.0.0.1:${p.port}/?delay=0`, LOAD_S)
    await sleep(2000)
    return { idle, loaded: reading(p), rps }
  } finally {
    await p.stop()
  }
}

export async function idleMemory (): Promise<void> {
  process.stderr.write(`memory: idle RSS ${IDLE_MS} ms after start and after wrk -c50 ${LOAD_S} s, PodMeter vs bare node:http, ${STARTS} starts each\n`)
  const pm: Start[] = []
  const bare: Start[] = []
  for (let i = 0; i < STARTS; i++) {
    // Alternate which starts first, so neither always finds a warmer page cache.
    if (i % 2 === 0) { pm.push(await measure(podmeterArgs(0))); bare.push(await measure(bareArgs(0))) } else { bare.push(await measure(bareArgs(0))); pm.push(await measure(podmeterArgs(0))) }
  }
  raw.memory = { pm, bare, idleMs: IDLE_MS, loadSeconds: LOAD_S }
  const of = (s: Start[], when: 'idle' | 'loaded', k: keyof Reading): number[] => s.map((x) => x[when][k])
  const diff = (when: 'idle' | 'loaded', k: keyof Reading): number[] => pm.map((x, i) => x[when][k] - (bare[i] as Start)[when][k])
  const idleDiff = diff('idle', 'rss')
  row('memory', 'idle RSS MiB, PodMeter', spread(of(pm, 'idle', 'rss'), 1))
  row('memory', 'idle RSS MiB, bare node:http', spread(of(bare, 'idle', 'rss'), 1))
  row('memory', 'idle RSS MiB, PodMeter − bare', spread(idleDiff, 1), `≤ ${TARGET_MIB}`, median(idleDiff) <= TARGET_MIB)
  row('memory', 'idle RssAnon / RssFile MiB, PodMeter − bare', `${spread(diff('idle', 'anon'), 1)} / ${spread(diff('idle', 'file'), 1)}`)
  row('memory', `RSS MiB after wrk ${LOAD_S} s, PodMeter / bare`, `${spread(of(pm, 'loaded', 'rss'), 1)} / ${spread(of(bare, 'loaded', 'rss'), 1)}`)
  row('memory', `RSS MiB after wrk ${LOAD_S} s, PodMeter − bare`, spread(diff('loaded', 'rss'), 1))
  row('memory', 'wrk req/s meanwhile, PodMeter / bare', `${spread(pm.map((x) => x.rps), 0)} / ${spread(bare.map((x) => x.rps), 0)}`)
}
