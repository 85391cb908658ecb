// Cross-site safety of the state-changing routes: what a web page elsewhere
// sends (an Origin of its own, Sec-Fetch-Site: cross-site, Origin: null) is
// refused with 403 CROSS_ORIGIN and changes nothing, unless the admin token
// authorises it; curl (no Origin) and the server's own origin are served.

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Running } from '../../src/main/serve.js'
import { getJson, load, request, type Reply, startServer } from '../support/helpers.js'

const TOKEN = 'k8s-secret_token.0123456789~+/='
const post = async (url: string, headers: Record<string, string>, body?: string): Promise<Reply> =>
  await request(url, { method: 'POST', headers }, body)

function refused (r: Reply): void {
  assert.equal(r.status, 403)
  assert.match(String(r.headers['content-type']), /^application\/json/)
  assert.equal(JSON.parse(r.body).error.code, 'CROSS_ORIGIN')
}

describe('without PODMETER_ADMIN_TOKEN (the shipped manifests)', () => {
  let pm: Running
  let host: string
  before(async () => {
    pm = await startServer({ delayUs: 0, faults: true })
    host = new URL(pm.url).host
  })
  after(async () => { await pm.shutdown() })

  test('a page elsewhere cannot reset: 403 CROSS_ORIGIN, counters intact', async () => {
    await load(`${pm.url}/`, 6, 2)
    const was = await getJson(`${pm.url}/stats`)
    const attacks: Array<Record<string, string>> = [
      // what a browser sends for a form posted from another site
      { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', 'content-type': 'application/x-www-form-urlencoded' },
      { origin: 'http://evil.example' },
      { origin: `http://${host}.evil.example` },
      { origin: `http://127.0.0.1:${Number(new URL(pm.url).port) + 1}` },
      { origin: 'null' }, // a sandboxed frame, a file:, a redirect across origins
      { origin: 'chrome-extension://abcdef' },
      { origin: `http://${host}, http://evil.example` },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' }, // another origin of the same site
      { origin: pm.url, 'sec-fetch-site': 'cross-site' }
    ]
    for (const headers of attacks) {
      const r = await post(`${pm.url}/stats/reset`, headers, 'a=1')
      refused(r)
      assert.ok(!/[<>]/.test(r.body))
    }
    const now = await getJson(`${pm.url}/stats`)
    assert.equal(now.requests, was.requests, 'nothing was reset')
    assert.equal(now.samples, was.samples)
  })

  test('the fault route refuses a page elsewhere too, and takes no fault', async () => {
    refused(await post(`${pm.url}/debug/worker/crash?mode=stall&ms=60000`, { origin: 'http://evil.example' }))
    const s = await getJson(`${pm.url}/stats`)
    assert.equal(typeof s.requests, 'number', '/stats answers: the worker is not stalled')
  })

  test('curl (no Origin), the same origin and a navigation are served', async () => {
    const port = new URL(pm.url).port
    const allowed: Array<Record<string, string>> = [
      {},
      { origin: pm.url },
      { origin: pm.url, 'sec-fetch-site': 'same-origin' },
      { origin: `https://${host}` }, // TLS ended at a gateway: the scheme is not compared
      { origin: `HTTP://127.0.0.1:${port}` },
      { 'sec-fetch-site': 'none' }
    ]
    for (const headers of allowed) {
      await load(`${pm.url}/`, 2, 1)
      const r = await post(`${pm.url}/stats/reset`, headers)
      assert.equal(r.status, 200, JSON.stringify(headers))
      assert.equal((await getJson(`${pm.url}/stats`)).requests, 0)
    }
    // A default port is the same port, written or not.
    const r = await request(`${pm.url}/stats/reset`, { method: 'POST', headers: { host: 'podmeter.bench', origin: 'http://podmeter.bench:80' } })
    assert.equal(r.status, 200)
  })
})

describe('with PODMETER_ADMIN_TOKEN', () => {
  let pm: Running
  before(async () => { pm = await startServer({ delayUs: 0, adminToken: TOKEN }) })
  after(async () => { await pm.shutdown() })

  test('the token authorises any origin; without it the token is what is missing (401)', async () => {
    await load(`${pm.url}/`, 3, 1)
    const none = await post(`${pm.url}/stats/reset`, { origin: 'http://evil.example' })
    assert.equal(none.status, 401)
    assert.equal((await getJson(`${pm.url}/stats`)).requests, 3)
    const r = await post(`${pm.url}/stats/reset`, { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', authorization: `Bearer ${TOKEN}` })
    assert.equal(r.status, 200)
    assert.equal((await getJson(`${pm.url}/stats`)).requests, 0)
  })
})
