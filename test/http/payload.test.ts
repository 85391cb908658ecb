// The body bytes of measured answers, over real sockets: counted exactly in
// /stats and in /metrics (text and protobuf), and zeroed by a reset.

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Running } from '../../src/main/serve.js'
import { decodeFamilies, PROTOBUF_ACCEPT, textSamples } from '../support/exposition.js'
import { getJson, request, startServer } from '../support/helpers.js'

/** The byte counters of /metrics, in the text and the protobuf format. */
async function metricBytes (url: string): Promise<{ text: [number, number], proto: [number, number] }> {
  const text = textSamples((await request(`${url}/metrics`)).body)
  const r = await fetch(`${url}/metrics`, { headers: { accept: PROTOBUF_ACCEPT } })
  const families = decodeFamilies(Buffer.from(await r.arrayBuffer()))
  const counter = (name: string): number => families.find((f) => f.name === name)?.metric[0]?.counter?.value ?? Number.NaN
  return {
    text: [text.get('podmeter_request_bytes_total') as number, text.get('podmeter_response_bytes_total') as number],
    proto: [counter('podmeter_request_bytes_total'), counter('podmeter_response_bytes_total')]
  }
}

describe('response bytes of GET /', () => {
  let pm: Running
  before(async () => { pm = await startServer({ delayUs: 0 }) })
  after(async () => { await pm.shutdown() })

  test('plain, delay-only, status-only and 204 answers add up to the bytes sent; a reset zeroes them', async () => {
    let sent = 0
    for (let i = 0; i < 20; i++) sent += Buffer.byteLength((await request(`${pm.url}/`)).body)
    for (let i = 0; i < 10; i++) sent += Buffer.byteLength((await request(`${pm.url}/?delay=0&status=503`)).body)
    for (let i = 0; i < 5; i++) sent += Buffer.byteLength((await request(`${pm.url}/?status=204`)).body)
    assert.equal(sent, 20 * 3 + 10 * 20)
    const s = await getJson(`${pm.url}/stats`)
    assert.equal(s.requests, 35)
    assert.equal(s.response_bytes, sent)
    assert.equal(s.request_bytes, 0)
    assert.equal(typeof s.window.response_bytes_per_second, 'number')
    assert.deepEqual(await metricBytes(pm.url), { text: [0, sent], proto: [0, sent] })
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const z = await getJson(`${pm.url}/stats`)
    assert.deepEqual([z.requests, z.request_bytes, z.response_bytes], [0, 0, 0])
  })
})
