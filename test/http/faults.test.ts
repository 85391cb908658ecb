// The histogram worker dies for real (an uncaught exception, process.exit()
// inside the thread) in the middle of a drain, again and again under load; or
// it stalls. The server keeps answering, the counters stay exact, and the
// histograms keep every sample: they live in shared memory, which the
// replacement attaches to.

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MAX_QUEUE } from '../../src/main/pool.js'
import { getJson, load, request, sleep, startCli, startServer, waitFor } from '../support/helpers.js'

test('the worker dies mid-drain 200 times under load, at random points of recording a sample: / and /stats answer throughout, every sample recorded once', async (t) => {
  const pm = await startServer({ delayUs: 0, faults: true, ringCapacity: 1024, drainIntervalMs: 20 })
  try {
    // The load runs until the last death has happened.
    const loading = new AbortController()
    const loaded = load(`${pm.url}/?delay=0`, Number.POSITIVE_INFINITY, 32, {}, loading.signal)
    // /stats polled all along: each must be a full answer, never a 503.
    const polled: number[] = []
    let stale = 0
    const poller = (async () => {
      while (!loading.signal.aborted) {
        const r = await request(`${pm.url}/stats`)
        polled.push(r.status)
        if (r.status === 200 && JSON.parse(r.body).stale === true) stale++
        await sleep(15)
      }
    })()
    const kills = 200
    for (let i = 0; i < kills; i++) {
      const mode = i % 2 === 0 ? 'throw' : 'exit'
      const r = await request(`${pm.url}/debug/worker/crash?mode=${mode}`, { method: 'POST' })
      assert.equal(r.status, 202, r.body)
      await waitFor(`restart ${i + 1}`, async () => (await getJson(`${pm.url}/stats`)).worker_restarts === i + 1)
    }
    loading.abort()
    const counts = await loaded
    await poller
    const total = counts.get(200) ?? 0
    assert.deepEqual([...counts], [[200, total]], 'every / answered 200')
    assert.ok(polled.length > 10 && polled.every((s) => s === 200), `/stats answered 200 throughout: ${polled.filter((s) => s !== 200).length} of ${polled.length} were not`)

    const s = await getJson(`${pm.url}/stats`)
    const h = await getJson(`${pm.url}/stats/histogram`)
    const metrics = (await request(`${pm.url}/metrics`)).body
    t.diagnostic(`${String(s.worker_restarts)} deaths, ${polled.length} /stats polls (${stale} stale), ${String(s.samples_dropped)} samples dropped`)
    assert.equal(s.stale, false, 'a fresh answer once the worker is back')
    assert.match(metrics, new RegExp(`^podmeter_request_duration_seconds_count ${String(h.count)}$`, 'm'), '/metrics counts the same samples')
    assert.equal(s.worker_restarts, kills, 'every death happened while the load ran')
    assert.equal(s.requests, total, 'the request counter is exact')
    assert.equal(s.errors, 0)
    assert.equal(h.count + s.samples_dropped, total, 'every sample is in the histogram or counted as dropped')
    assert.equal(s.samples, h.count, 'the replacement reconciled the figures its predecessor never flushed')
    // At delay=0 the server time (request event to head ready) is a few µs or less: p50 may read 0.
    assert.ok(s.p50_latency_ms >= 0 && s.max_latency_ms >= s.p99_latency_ms && s.max_latency_ms > 0)
    assert.ok(s.threads >= 2, 'a worker is running again')
  } finally {
    await pm.shutdown()
  }
})

test('a stuck worker: /stats answers 503 within STATS_TIMEOUT_MS, the queue stays bounded, / keeps answering, and the worker is replaced', async () => {
  const pm = await startServer({ delayUs: 0, faults: true, statsTimeoutMs: 200 })
  try {
    await load(`${pm.url}/?delay=0`, 100, 4)
    const stall = await request(`${pm.url}/debug/worker/crash?mode=stall&ms=60000`, { method: 'POST' })
    assert.equal(stall.status, 202)
    const one = await request(`${pm.url}/stats`)
    assert.equal(one.status, 503)
    assert.equal(JSON.parse(one.body).error.code, 'STATS_UNAVAILABLE')
    assert.deepEqual([...await load(`${pm.url}/?delay=0`, 50, 4)], [[200, 50]], 'the hot path does not wait for the worker')

    const burst = await Promise.all(Array.from({ length: MAX_QUEUE * 2 }, async () => await request(`${pm.url}/stats`)))
    assert.ok(burst.every((r) => r.status === 503 && JSON.parse(r.body).error.code === 'STATS_UNAVAILABLE'))
    const queueFull = burst.filter((r) => JSON.parse(r.body).error.message.includes('tasks waiting')).length
    assert.ok(queueFull >= MAX_QUEUE - 2, `${queueFull} answered at once: the queue holds at most ${MAX_QUEUE}`)

    // Nothing completed for two timeouts: the next timeout replaces the worker.
    await waitFor('a replaced worker', async () => (await request(`${pm.url}/stats`)).status === 200, 10_000)
    const s = await getJson(`${pm.url}/stats`)
    assert.equal(s.worker_restarts, 1)
    assert.equal(s.requests, 150, 'counted while the worker was stuck')
    assert.equal(s.samples + s.samples_dropped, 150)
  } finally {
    await pm.shutdown()
  }
})

test('a worker slow to start: the server listens at once, /readyz answers 503 until the worker answers, then 200', async () => {
  // STATS_TIMEOUT_MS at its minimum and a first worker that blocks for 4 s
  // before it attaches: the start is far slower than any timeout.
  const pm = await startCli([], { STATS_TIMEOUT_MS: '10', PODMETER_FAULTS: 'on', PODMETER_FAULT_START_MS: '4000' }, false)
  try {
    const first = await request(`${pm.url}/readyz`)
    assert.equal(first.status, 503, first.body)
    assert.equal(JSON.parse(first.body).error.code, 'NOT_READY')
    const stats = await request(`${pm.url}/stats`)
    assert.equal(stats.status, 503, 'nothing is known yet: /stats says so')
    assert.deepEqual([...await load(`${pm.url}/?delay=0`, 20, 2)], [[200, 20]], '/ is served while the worker starts')
    await waitFor('ready', async () => (await request(`${pm.url}/readyz`)).status === 200, 30_000)
    const s = await getJson(`${pm.url}/stats`)
    assert.equal(s.stale, false)
    assert.equal(s.requests, 20)
    assert.equal(s.samples + s.samples_dropped, 20)
    assert.equal(s.worker_restarts, 0, 'a starting worker is never replaced as stuck')
  } finally {
    pm.child.kill('SIGINT')
    await pm.exit
  }
})
