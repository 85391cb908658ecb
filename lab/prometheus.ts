// A real Prometheus server (Debian's `prometheus` package, 2.42 here) as a
// child process of a test or a benchmark: it scrapes the given targets every second, its
// config and storage live in a temp dir, it listens on 127.0.0.1 only, and
// stop() kills it and removes the dir. Queries go through its HTTP API.

import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from './processes.js'

const PROMETHEUS = process.env.PROMETHEUS ?? 'prometheus'

export interface Target {
  /** http://host:port of a PodMeter. */
  url: string
  /** Static labels on its series, as a PodMonitor's relabelling gives them (namespace, pod). */
  labels: Record<string, string>
  /** The scrape job it is in (default podmeter). */
  job?: string
}

export interface Sample { labels: Record<string, string>, time: number, value: number }

export interface Prometheus {
  api: string
  /** An instant query (at `time`, Unix seconds, or now); throws on a PromQL error with Prometheus' message. */
  query: (promql: string, time?: number) => Promise<Sample[]>
  /** The first sample's value of an instant query, or undefined when it returned nothing. */
  value: (promql: string, time?: number) => Promise<number | undefined>
  /** Prometheus' own output so far. */
  log: () => string
  stop: () => Promise<void>
}

/** Polls `fn` every 200 ms until it returns a value, for at most `ms`. */
export async function until<T> (what: string, ms: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + ms
  for (;;) {
    const v = await fn().catch(() => undefined)
    if (v !== undefined) return v
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(200)
  }
}

/**
 * `features`: --enable-feature flags; `track`: called with the child as soon
 * as it is spawned (the lab hands it to its Processes, so Ctrl-C stops it).
 * `storage`: a TSDB directory to serve (blocks backfilled with promtool),
 * kept when it stops; with no targets nothing is scraped, so it serves
 * exactly those blocks. `port`: where to listen (default a free one).
 */
export async function startPrometheus (targets: Target[], options: { features?: string[], track?: (child: ChildProcess) => void, storage?: string, port?: number } = {}): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'podmeter-prom-'))
  const jobs = [...new Set(targets.map((t) => t.job ?? 'podmeter'))]
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    ...(targets.length === 0 ? [] : ['scrape_configs:']),
    ...jobs.flatMap((job) => [
      `  - job_name: ${job}`,
      '    static_configs:',
      ...targets.filter((t) => (t.job ?? 'podmeter') === job).flatMap((t) => [
        `      - targets: ['${new URL(t.url).host}']`,
        ...(Object.keys(t.labels).length === 0 ? [] : ['        labels:']),
        ...Object.entries(t.labels).map(([k, v]) => `          ${k}: '${v}'`)
      ])
    ])
  ]
  writeFileSync(join(dir, 'prometheus.yml'), config.join('\n') + '\n')
  const port = options.port ?? await freePort()
  const features = (options.features ?? []).map((f) => `--enable-feature=${f}`)
  const child: ChildProcess = spawn(PROMETHEUS, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${options.storage ?? join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
    ...features
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  child.stdout?.on('data', (c: Buffer) => { log += c.toString() })
  child.stderr?.on('data', (c: Buffer) => { log += c.toString() })
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    options.track?.(child)
    await Promise.race([
      once(child, 'spawn'),
      once(child, 'error').then(([err]) => { throw new Error(`cannot run ${PROMETHEUS} (Debian package prometheus): ${(err as Error).message}`) })
    ])
    const api = `http://127.0.0.1:${port}`
    await until('Prometheus to be ready', 20_000, async () => ((await fetch(`${api}/-/ready`)).status === 200 ? true : undefined))
    const query = async (promql: string, time?: number): Promise<Sample[]> => {
      const at = time === undefined ? '' : `&time=${time}`
      const r = await (await fetch(`${api}/api/v1/query?query=${encodeURIComponent(promql)}${at}`)).json() as Record<string, any>
      if (r.status !== 'success') throw new Error(`${promql}: ${String(r.errorType)}: ${String(r.error)}`)
      if (r.data.resultType === 'scalar') return [{ labels: {}, time: r.data.result[0], value: Number(r.data.result[1]) }]
      return (r.data.result as Array<{ metric: Record<string, string>, value: [number, string] }>).map((s) => ({ labels: s.metric, time: s.value[0], value: Number(s.value[1]) }))
    }
    const value = async (promql: string, time?: number): Promise<number | undefined> => (await query(promql, time))[0]?.value
    return { api, query, value, log: () => log, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
