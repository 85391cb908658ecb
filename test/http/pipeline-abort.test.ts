// A client that goes away inside a pipeline: every request whose response
// never reached it is aborted, wherever it stood, with no latency sample;
// node:http emits the requests queued behind the one in progress at once,
// and gives their responses no 'close' when the connection dies.

import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { Running } from '../../src/main/serve.js'
import { getJson, request, startServer, waitFor } from '../support/helpers.js'

const PIPELINED = 10

interface Figures { requests: number, samples: number, samples_dropped: number, errors: number, status_codes: Record<string, number> }

async function figures (pm: Running): Promise<Figures> {
  return await getJson<Figures>(`${pm.url}/stats`)
}

/**
 * Writes `GET /livez` and PIPELINED delayed GETs in one segment, so node
 * parses them in one go; the /livez answer (unmeasured) proves the delayed
 * ones are all in the server's hands, unanswered. Then `leave` ends the
 * connection; resolves with what the client received after /livez.
 */
async function leaveInsidePipeline (port: number, leave: (socket: net.Socket) => void, delayed = 'GET /?delay=5s HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(PIPELINED)): Promise<string> {
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  let received = ''
  socket.on('error', () => {})
  socket.write(`GET /livez HTTP/1.1\r\nHost: x\r\n\r\n${delayed}`)
  await new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1')
      if (/\r\n\r\n\{"status":"ok"\}/.test(received)) resolve()
    })
  })
  const closed = once(socket, 'close')
  const after = received.length
  leave(socket)
  await closed
  return received.slice(after)
}

describe('a client leaving inside a pipeline', () => {
  let pm: Running
  before(async () => { pm = await startServer({ delayUs: 0 }) })
  after(async () => { await pm.shutdown() })

  const ways: Array<[string, (s: net.Socket) => void]> = [
    ['FIN (end)', (s) => s.end()],
    ['close (destroy)', (s) => s.destroy()],
    ['RST (resetAndDestroy)', (s) => s.resetAndDestroy()]
  ]
  for (const [name, leave] of ways) {
    test(`${name}: all ${PIPELINED} delayed requests aborted, none 2xx, no sample`, async () => {
      await request(`${pm.url}/stats/reset`, { method: 'POST' })
      const before = await figures(pm)
      const got = await leaveInsidePipeline(pm.port, leave)
      assert.equal(got, '', 'the client received nothing more')
      await waitFor(`${PIPELINED} aborted`, async () => ((await figures(pm)).status_codes.aborted ?? 0) >= PIPELINED)
      const s = await figures(pm)
      assert.equal(s.status_codes.aborted, PIPELINED)
      assert.equal(s.status_codes['2xx'], 0)
      assert.equal(s.requests, PIPELINED)
      assert.equal(s.errors, PIPELINED)
      assert.equal(s.samples + s.samples_dropped, before.samples + before.samples_dropped, 'no latency sample for an aborted request')
    })
  }

  test('responses already made but queued behind a delayed one: aborted with it when the client leaves', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const before = await figures(pm)
    // The 0 ms answers are ended at once and wait in node's queue behind the 5 s one.
    const pipeline = 'GET /?delay=5s HTTP/1.1\r\nHost: x\r\n\r\n' + 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(PIPELINED)
    const got = await leaveInsidePipeline(pm.port, (s) => s.destroy(), pipeline)
    assert.equal(got, '')
    await waitFor(`${PIPELINED + 1} aborted`, async () => ((await figures(pm)).status_codes.aborted ?? 0) >= PIPELINED + 1)
    const s = await figures(pm)
    assert.equal(s.status_codes.aborted, PIPELINED + 1)
    assert.equal(s.status_codes['2xx'], 0)
    assert.equal(s.requests, PIPELINED + 1)
    assert.equal(s.samples + s.samples_dropped, before.samples + before.samples_dropped, 'no latency sample for a response never written')
  })

  test('an answered pipeline counts each response once, with its sample', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const socket = net.connect(pm.port, '127.0.0.1')
    await once(socket, 'connect')
    let received = ''
    socket.on('data', (c: Buffer) => { received += c.toString('latin1') })
    socket.write(['0', '20ms', '0', '5ms', '0'].map((d) => `GET /?delay=${d} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''))
    await waitFor('five responses', () => (received.match(/HTTP\/1\.1 200/g) ?? []).length === 5)
    socket.destroy()
    const s = await figures(pm)
    assert.equal(s.requests, 5)
    assert.equal(s.status_codes['2xx'], 5)
    assert.equal(s.status_codes.aborted, 0)
    assert.equal(s.samples + s.samples_dropped, 5)
  })
})
