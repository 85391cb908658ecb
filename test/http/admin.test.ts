import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Running } from '../../src/main/serve.js'
import { getJson, load, request, startServer, type Reply } from '../support/helpers.js'

const TOKEN = 'k8s-secret_token.0123456789~+/='
const post = async (url: string, authorization?: string): Promise<Reply> =>
  await request(url, { method: 'POST', headers: authorization === undefined ? {} : { authorization } })

function refused (r: Reply, status: number, code: string): void {
  assert.equal(r.status, status)
  assert.match(String(r.headers['content-type']), /^application\/json/)
  assert.equal(r.headers['x-content-type-options'], 'nosniff')
  assert.equal(JSON.parse(r.body).error.code, code)
}

describe('with PODMETER_ADMIN_TOKEN', () => {
  let pm: Running
  before(async () => { pm = await startServer({ delayUs: 0, adminToken: TOKEN, faults: true }) })
  after(async () => { await pm.shutdown() })

  test('POST /stats/reset without the token: 401 with WWW-Authenticate, and nothing is reset', async () => {
    await load(`${pm.url}/`, 10, 2)
    const none = await post(`${pm.url}/stats/reset`)
    refused(none, 401, 'UNAUTHORIZED')
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="podmeter"')
    for (const wrong of [`Bearer ${TOKEN.slice(0, -1)}x`, `Bearer ${TOKEN}x`, 'Bearer short', `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`, `Bearer ${TOKEN} extra`, TOKEN, 'Bearer ', `Bearer ${'a'.repeat(2000)}`]) {
      const r = await post(`${pm.url}/stats/reset`, wrong)
      refused(r, 401, 'UNAUTHORIZED')
      assert.equal(r.headers['www-authenticate'], 'Bearer realm="podmeter", error="invalid_token"', wrong.slice(0, 40))
      assert.ok(!r.body.includes(TOKEN.slice(0, 8)), 'the token is never echoed')
    }
    assert.equal((await getJson(`${pm.url}/stats`)).requests, 10, 'nothing was reset')
  })

  test('the right token resets (the scheme in any case)', async () => {
    assert.equal((await post(`${pm.url}/stats/reset`, `Bearer ${TOKEN}`)).status, 200)
    assert.equal((await getJson(`${pm.url}/stats`)).requests, 0)
    assert.equal((await post(`${pm.url}/stats/reset`, `bearer  ${TOKEN}`)).status, 200)
  })

  test('the fault route needs the token too; reading stays open', async () => {
    refused(await post(`${pm.url}/debug/worker/crash?mode=exit`), 401, 'UNAUTHORIZED')
    refused(await post(`${pm.url}/debug/worker/crash?mode=nope`, `Bearer ${TOKEN}`), 400, 'INVALID_FAULT')
    refused(await post(`${pm.url}/debug/worker/crash?mode=stall&ms=0`, `Bearer ${TOKEN}`), 400, 'INVALID_FAULT')
    for (const path of ['/stats', '/stats/histogram', '/metrics', '/livez', '/readyz', '/debug/headers', '/?delay=0']) {
      assert.equal((await request(pm.url + path)).status, 200, path)
    }
  })
})

describe('with STATS_RESET=off and faults off (the default)', () => {
  let pm: Running
  before(async () => { pm = await startServer({ delayUs: 0, statsReset: false, adminToken: TOKEN }) })
  after(async () => { await pm.shutdown() })

  test('POST /stats/reset answers 403 whatever the token; the fault route does not exist', async () => {
    await load(`${pm.url}/`, 5, 1)
    refused(await post(`${pm.url}/stats/reset`, `Bearer ${TOKEN}`), 403, 'RESET_DISABLED')
    refused(await post(`${pm.url}/stats/reset`), 403, 'RESET_DISABLED')
    assert.equal((await getJson(`${pm.url}/stats`)).requests, 5)
    refused(await post(`${pm.url}/debug/worker/crash?mode=exit`, `Bearer ${TOKEN}`), 404, 'NOT_FOUND')
  })
})
