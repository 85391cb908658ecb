// The crash-storm part: BENCH_CRASHES (default 50) histogram-worker deaths
// one at a time (each waits for a fresh /stats), then as many back to back
// (each armed as soon as the last replacement takes a task), while wrk
// drives `/` and /stats is polled at 10 Hz.
// Reports how many polls answered 200 (and how many of those were stale),
// how long /stats took to be fresh again after each death, replacements per
// death, and whether every request ended as a sample or a counted drop.

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import http from 'node:http'
import { CLIENT_CPU, median, podmeterArgs, quantile, sleep, startPinned, timedGet } from './lib.js'
import { raw, row } from './report.js'

const CRASHES = Number(process.env.BENCH_CRASHES ?? 50)
/** STATS_TIMEOUT_MS of the server (default 2000): below a worker's start time, every poll during a restart times out. */
const TIMEOUT = process.env.BENCH_STATS_TIMEOUT_MS ?? '2000'

async function post (url: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    http.request(url, { method: 'POST' }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)) }).on('error', reject).end()
  })
}

export async function crashes (): Promise<void> {
  process.stderr.write(`crashes: ${CRASHES} worker deaths under wrk -c50, /stats polled at 10 Hz, STATS_TIMEOUT_MS=${TIMEOUT}\n`)
  const pm = await startPinned(podmeterArgs(0), { PODMETER_FAULTS: 'on', STATS_TIMEOUT_MS: TIMEOUT })
  const base = `http://127.0.0.1:${pm.port}`
  const load = spawn('taskset', ['-c', CLIENT_CPU, 'wrk', '-t1', '-c50', '-d600s', `${base}/?delay=0`], { stdio: 'ignore' })
  try {
    await sleep(1000)
    const polls = { ok: 0, stale: 0, failed: 0 }
    const polling = new AbortController()
    const poller = (async () => {
      while (!polling.signal.aborted) {
        const r = await timedGet(`${base}/stats`).catch(() => ({ status: 0, body: '{}' }))
        if (r.status === 200) { polls.ok++; if (JSON.parse(r.body).stale === true) polls.stale++ } else polls.failed++
        await sleep(100)
      }
    })()
    // One at a time: each death, then /stats fresh again.
    const recoveryMs: number[] = []
    const fresh = async (restarts: number): Promise<void> => {
      for (;;) {
        const s = JSON.parse((await timedGet(`${base}/stats`)).body) as { worker_restarts: number, stale: boolean }
        if (s.worker_restarts >= restarts && !s.stale) return
        await sleep(5)
      }
    }
    const crash = async (i: number): Promise<void> => {
      const status = await post(`${base}/debug/worker/crash?mode=${i % 2 === 0 ? 'throw' : 'exit'}`)
      if (status !== 202) throw new Error(`crash ${i + 1}: ${status}`)
    }
    for (let i = 0; i < CRASHES; i++) {
      const t0 = performance.now()
      await crash(i)
      await fresh(i + 1)
      recoveryMs.push(performance.now() - t0)
    }
    // A storm: each death armed as soon as the last replacement takes a task.
    // Two crashes that reach the same worker before its next drain are one death.
    let before = 0
    for (let i = 0; i < CRASHES; i++) {
      if (i === CRASHES - 1) before = (JSON.parse((await timedGet(`${base}/stats`)).body) as { worker_restarts: number }).worker_restarts
      await crash(i)
    }
    const t0 = performance.now()
    await fresh(before + 1)
    const stormRecoveryMs = performance.now() - t0
    polling.abort()
    await poller
    load.kill('SIGINT')
    await once(load, 'exit')
    await sleep(200)
    const s = JSON.parse((await timedGet(`${base}/stats`)).body) as Record<string, number>
    const exact = s.samples! + s.samples_dropped! === s.requests
    const total = polls.ok + polls.failed
    raw.crashes = { recoveryMs, stormRecoveryMs, polls, stats: { requests: s.requests, samples: s.samples, samples_dropped: s.samples_dropped, worker_restarts: s.worker_restarts } }
    row('crashes', '/stats polls answered 200 (stale among them)', `${polls.ok} of ${total} (${(100 * polls.ok / total).toFixed(1)} %; ${polls.stale} stale)`, '≥ 99 %', polls.ok >= 0.99 * total)
    row('crashes', 'ms from a death to a fresh /stats, median / p90 / max', `${median(recoveryMs).toFixed(0)} / ${quantile(recoveryMs, 0.9).toFixed(0)} / ${Math.max(...recoveryMs).toFixed(0)}`, 'median < 1000', median(recoveryMs) < 1000)
    row('crashes', 'ms from the storm\'s last death to a fresh /stats', stormRecoveryMs.toFixed(0))
    row('crashes', 'replacements for crashes asked (a starting worker is never replaced)', `${s.worker_restarts} for ${2 * CRASHES}`, 'at most equal', s.worker_restarts! <= 2 * CRASHES)
    row('crashes', 'requests / samples + dropped', `${s.requests} / ${s.samples! + s.samples_dropped!}`, 'equal', exact)
  } finally {
    if (load.exitCode === null) load.kill('SIGKILL')
    await pm.stop()
  }
}
