// A real Prometheus server (Debian's `prometheus` package) scrapes a real
// PodMeter on loopback every second, and its histogram_quantile over the
// `le` buckets agrees with /stats. Prometheus is this test's child process:
// its config and storage live in a temp dir, it listens on 127.0.0.1 only,
// and it is killed at the end.

import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { DEFAULT_BUCKETS_US } from '../../src/shared/config.js'
import { freePort, getJson, load, request, sleep, startServer } from '../support/helpers.js'

const PROMETHEUS = process.env.PROMETHEUS ?? 'prometheus'

/** Polls `fn` every 200 ms until it returns a value, for at most `ms`. */
async function until<T> (what: string, ms: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + ms
  for (;;) {
    const v = await fn().catch(() => undefined)
    if (v !== undefined) return v
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(200)
  }
}

/** The index of the `le` bucket a value in µs falls in (a value on a boundary is in that bucket). */
const bucketOf = (us: number): number => {
  const i = DEFAULT_BUCKETS_US.findIndex((b) => us <= b)
  return i < 0 ? DEFAULT_BUCKETS_US.length : i
}

test('Prometheus scrapes /metrics; histogram_quantile(0.99) agrees with /stats p99 within one bucket', async (t) => {
  const pm = await startServer({ delayUs: 0 })
  const dir = mkdtempSync(join(tmpdir(), 'podmeter-prom-'))
  let prom: ChildProcess | undefined
  let log = ''
  try {
    const target = new URL(pm.url).host
    writeFileSync(join(dir, 'prometheus.yml'), [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      'scrape_configs:',
      '  - job_name: podmeter',
      '    static_configs:',
      `      - targets: ['${target}']`
    ].join('\n') + '\n')
    const port = await freePort()
    prom = spawn(PROMETHEUS, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn'
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    prom.stdout?.on('data', (c: Buffer) => { log += c.toString() })
    prom.stderr?.on('data', (c: Buffer) => { log += c.toString() })
    const spawned = once(prom, 'spawn')
    const failed = once(prom, 'error').then(([err]) => { throw new Error(`cannot run ${PROMETHEUS} (Debian package prometheus): ${(err as Error).message}`) })
    await Promise.race([spawned, failed])
    const api = `http://127.0.0.1:${port}`
    const query = async (q: string): Promise<number | undefined> => {
      const r = await getJson(`${api}/api/v1/query?query=${encodeURIComponent(q)}`)
      const v = r.data?.result?.[0]?.value?.[1]
      return v === undefined ? undefined : Number(v)
    }
    await until('Prometheus to be ready', 20_000, async () => ((await request(`${api}/-/ready`)).status === 200 ? true : undefined))

    // A bounded load whose p99 sits well inside a bucket: 2 % of requests take 4 ms, the rest under 1 ms.
    const served = await load(`${pm.url}/?delay=300us:60,4ms:2`, 2500, 20)
    assert.deepEqual([...served], [[200, 2500]])
    const s = await getJson(`${pm.url}/stats`)
    assert.equal(s.samples, 2500)

    // Wait for a scrape that saw the whole load (at most a few scrape intervals).
    await until('a scrape with every sample', 15_000, async () =>
      (await query('podmeter_request_duration_seconds_count{job="podmeter"}')) === 2500 ? true : undefined)
    assert.equal(await query('up{job="podmeter"}'), 1)
    assert.equal(await query('podmeter_requests_total{code="200"}'), 2500)
    assert.equal(await query('podmeter_mesh_info{mode="none"}'), 1)

    // The lifetime buckets, as /stats p99 is over the lifetime: no rate() needed.
    const p99 = await query('histogram_quantile(0.99, podmeter_request_duration_seconds_bucket{job="podmeter"})')
    assert.ok(p99 !== undefined && Number.isFinite(p99), `histogram_quantile answered ${String(p99)}`)
    const statsUs = s.p99_latency_ms * 1000
    const promUs = p99 * 1e6
    t.diagnostic(`histogram_quantile p99 ${promUs.toFixed(1)} µs, /stats p99 ${statsUs} µs`)
    assert.ok(Math.abs(bucketOf(promUs) - bucketOf(statsUs)) <= 1,
      `Prometheus p99 ${promUs.toFixed(1)} µs vs /stats p99 ${statsUs} µs: buckets ${bucketOf(promUs)} and ${bucketOf(statsUs)}`)
  } catch (err) {
    if (log !== '') process.stderr.write(`prometheus said:\n${log}\n`)
    throw err
  } finally {
    if (prom !== undefined && prom.exitCode === null && prom.signalCode === null) {
      const exited = once(prom, 'exit')
      prom.kill('SIGTERM')
      const timer = setTimeout(() => prom?.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
    await pm.shutdown()
  }
})
