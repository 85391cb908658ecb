// The figures that every HTTP thread adds to: a reset made while requests
// keep coming leaves counters and histograms agreeing to the request, on one
// thread and on two; and with HTTP_THREADS=2 the connection figures (open,
// rejected at MAX_CONNECTIONS, refused requests) are the sum over both
// threads, with MAX_CONNECTIONS the cap on that sum.

import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { describe, test } from 'node:test'
import { reusePortWorks } from '../../src/shared/config.js'
import { getJson, load, rawExchange, request, startServer, waitFor } from '../support/helpers.js'

const supported = reusePortWorks()
const THREADS = supported ? [1, 2] : [1]

for (const httpThreads of THREADS) {
  test(`HTTP_THREADS=${httpThreads}: resets in the middle of a load leave requests == samples, nothing dropped`, async () => {
    const pm = await startServer({ delayUs: 0, httpThreads })
    try {
      const url = `${pm.url}/`
      // Short connections as well as kept ones, so both threads serve.
      const running = Promise.all([load(url, 24_000, 40), load(url, 1_000, 10, { headers: { connection: 'close' } })])
      const state = { finished: false }
      running.then(() => { state.finished = true }, () => { state.finished = true })
      let resets = 0
      for (; resets < 6; resets++) {
        // Each reset waits for 500 requests counted since the last one, so it lands inside the load.
        await waitFor('requests after the last reset', async () => state.finished || (await getJson(`${pm.url}/stats`)).requests > 500, 20_000)
        if (state.finished) break
        const r = await request(`${pm.url}/stats/reset`, { method: 'POST' })
        assert.equal(r.status, 200, r.body)
      }
      await running
      assert.ok(resets >= 2, `${resets} resets landed inside the load`)
      const s = await getJson(`${pm.url}/stats`)
      assert.ok(s.requests > 0 && s.requests < 25_000, `counted since the last reset: ${s.requests}`)
      assert.equal(s.samples, s.requests, 'every request counted after the reset has its sample, and no other')
      assert.equal(s.samples_dropped, 0)
      assert.equal(s.status_codes['2xx'], s.requests)
      if (httpThreads > 1) assert.equal(s.requests_by_http_thread.reduce((a: number, b: number) => a + b, 0), s.requests)
    } finally {
      await pm.shutdown()
    }
  })
}

/** A raw connection that sent one `/` and has its answer, or was closed instead. */
async function holdOne (port: number): Promise<{ socket: net.Socket, answered: boolean }> {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {})
  await once(socket, 'connect')
  socket.write('GET / HTTP/1.1\r\nHost: t\r\n\r\n')
  const answered = await new Promise<boolean>((resolve) => {
    socket.once('data', () => resolve(true))
    socket.once('close', () => resolve(false))
  })
  return { socket, answered }
}

describe('HTTP_THREADS=2: connection figures are summed over the threads', { skip: !supported && `Node ${process.versions.node} has no reusePort` }, () => {
  test('open connections and refused requests on both threads; relay connections are not clients', async () => {
    const pm = await startServer({ delayUs: 0, httpThreads: 2 })
    try {
      const port = Number(new URL(pm.url).port)
      const held = await Promise.all(Array.from({ length: 40 }, async () => await holdOne(port)))
      assert.ok(held.every((h) => h.answered))
      // /stats goes through the relay when it lands on the second thread.
      const s = await getJson(`${pm.url}/stats`, { headers: { connection: 'close' } })
      assert.ok(s.requests_by_http_thread.every((n: number) => n > 0), `both threads hold some: ${String(s.requests_by_http_thread)}`)
      assert.equal(s.connections_open, 41, '40 held and the one asking')
      for (const h of held) h.socket.destroy()
      await waitFor('the held connections to close', async () => (await getJson(`${pm.url}/stats`, { headers: { connection: 'close' } })).connections_open === 1)

      const garbage = await Promise.all(Array.from({ length: 30 }, async () => await rawExchange(port, 'NOT HTTP AT ALL\r\n\r\n', { close: true })))
      assert.ok(garbage.every((g) => g.responses[0]?.status === 400))
      const after = await getJson(`${pm.url}/stats`, { headers: { connection: 'close' } })
      assert.equal(after.requests_refused['400'], 30, 'each refusal counted, whichever thread refused it')
      const metrics = (await request(`${pm.url}/metrics`, { headers: { connection: 'close' } })).body
      assert.match(metrics, /^podmeter_requests_refused_total\{code="400"\} 30$/m)

      assert.equal((await request(`${pm.url}/stats/reset`, { method: 'POST', headers: { connection: 'close' } })).status, 200)
      const reset = await getJson(`${pm.url}/stats`, { headers: { connection: 'close' } })
      assert.equal(reset.requests_refused['400'], 0, 'zeroed on both threads')
      assert.equal(reset.connections_open, 1, 'a level, left alone by a reset')
    } finally {
      await pm.shutdown()
    }
  })

  test('MAX_CONNECTIONS caps the sum over both threads, and every rejection is counted', async () => {
    const max = 10
    const pm = await startServer({ delayUs: 0, httpThreads: 2, maxConnections: max })
    try {
      const port = Number(new URL(pm.url).port)
      const held: Array<{ socket: net.Socket, answered: boolean }> = []
      // One at a time: the first `max` are let in, each later one is closed at once.
      for (let i = 0; i < 3 * max; i++) held.push(await holdOne(port))
      assert.equal(held.filter((h) => h.answered).length, max)
      for (const h of held) h.socket.destroy()
      // A poll that arrives before the server has seen the closes is itself rejected, and counted.
      let pollsRejected = 0
      await waitFor('every connection to close', async () => {
        try { return (await getJson(`${pm.url}/stats`, { headers: { connection: 'close' } })).connections_open === 1 } catch { pollsRejected++; return false }
      })
      const s = await getJson(`${pm.url}/stats`, { headers: { connection: 'close' } })
      assert.equal(s.connections_rejected, 2 * max + pollsRejected)
      assert.equal(s.requests, max)
    } finally {
      await pm.shutdown()
    }
  })
})
