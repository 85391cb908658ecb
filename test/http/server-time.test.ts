// One definition of server time: the Server-Timing a client collects for each
// request and the histograms behind /stats hold the same values. Counted, not
// timed: whatever the machine's load, the two sides see the same integers.

import assert from 'node:assert/strict'
import http from 'node:http'
import { after, before, test } from 'node:test'
import type { Running } from '../../src/main/serve.js'
import { serverTimingUs } from '../../src/cli/server-timing.js'
import { exactQuantile, getJson, request, startServer } from '../support/helpers.js'

let pm: Running
before(async () => { pm = await startServer({ delayUs: 0 }) })
after(async () => { await pm.shutdown() })

/** Sends `n` GETs over `lanes` kept-alive connections; returns each answer's Server-Timing in µs. */
async function collect (query: string, n: number, lanes: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: lanes })
  const values: number[] = []
  let sent = 0
  const lane = async (): Promise<void> => {
    while (sent < n) {
      sent++
      const r = await request(`${pm.url}/${query}`, { agent })
      assert.equal(r.status, 200)
      const header = r.headers['server-timing']
      values.push(serverTimingUs(typeof header === 'string' ? header : undefined))
    }
  }
  await Promise.all(Array.from({ length: lanes }, lane))
  agent.destroy()
  return values
}

/** HDR with 3 digits: a value within 0.1 % (exact below 2048 µs); /stats prints ms with µs resolution. */
function assertAgree (statsMs: number, exactUs: number, what: string): void {
  const tolerance = exactUs < 2048 ? 0 : Math.ceil(exactUs / 1024)
  const statsUs = Math.round(statsMs * 1000)
  assert.ok(Math.abs(statsUs - exactUs) <= tolerance, `${what}: /stats ${statsUs} µs, Server-Timing ${exactUs} µs (±${tolerance})`)
}

for (const [name, query, n] of [['delay=0', '?delay=0', 2000], ['delay=1ms:50,5ms:50', '?delay=1ms:50,5ms:50', 300]] as const) {
  test(`Server-Timing and /stats agree request for request at ${name}`, async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const values = await collect(query, n, 8)
    assert.equal(values.filter((v) => v < 0).length, 0, 'every answer has app;dur=')
    const s = await getJson(`${pm.url}/stats?percentiles=50,90,99,100`)
    assert.equal(s.requests, n, 'the server measured exactly these requests')
    const sorted = [...values].sort((a, b) => a - b)
    for (const [p, key] of [[0.5, 'p50'], [0.9, 'p90'], [0.99, 'p99']] as const) {
      assertAgree(s.percentiles[key] as number, exactQuantile(sorted, p), `${name} ${key}`)
    }
    // min and max are exact on both sides, not bucketed.
    assert.equal(Math.round((s.min_latency_ms as number) * 1000), sorted[0])
    assert.equal(Math.round((s.max_latency_ms as number) * 1000), sorted.at(-1))
    const sum = values.reduce((a, b) => a + b, 0)
    assert.ok(Math.abs((s.avg_latency_ms as number) * 1000 - sum / n) < 0.5, `mean ${s.avg_latency_ms as number} ms vs ${sum / n} µs`)
  })
}
