// The open loop keeps its timetable honestly: -d ends the run on time (what
// was not yet due is never sent), a schedule the client could not keep is
// said so, and requests still in flight at the end count as timed out.
// Everything here is counted at the client and at the server, never timed.

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { LoadResult } from '../../src/cli/result.js'
import type { Running } from '../../src/main/serve.js'
import { getJson, request, runCli, startServer } from '../support/helpers.js'

async function load (args: string[]): Promise<{ code: number | null, result: LoadResult, stderr: string }> {
  const r = await runCli(['load', '-q', '--json', ...args])
  return { code: r.code, result: JSON.parse(r.stdout) as LoadResult, stderr: r.stderr }
}

describe('open loop', () => {
  let pm: Running
  before(async () => { pm = await startServer({ delayUs: 0 }) })
  after(async () => { await pm.shutdown() })

  test('-d bounds the run: no request sent that was not due, the server counts what was sent', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const { code, result } = await load(['--warmup', '0', '--qps', '200', '-d', '1s', '-c', '4', '--no-stats', `${pm.url}/?delay=0`])
    assert.equal(code, 0)
    assert.equal(result.schedule?.due, 200, '200 requests fall due in 1 s at 200 req/s')
    assert.ok(result.sent <= 200, `sent ${result.sent}: never more than fell due`)
    assert.equal(result.schedule?.sent, result.sent)
    assert.equal(result.schedule?.missed, 200 - result.sent)
    assert.equal((await getJson(`${pm.url}/stats`)).requests, result.sent, 'the server saw exactly what the client sent')
    assert.equal(result.latency_ms.client_lag?.count, result.responses, 'a lag for every answered request')
    assert.equal(typeof result.schedule_kept, 'boolean')
  })

  test('a rate the client cannot reach: it ends on time, sends less than fell due, and says so', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    // Two connections, one request each in flight: 10 million a second is out of reach anywhere.
    const { code, result, stderr } = await load(['--warmup', '0', '--qps', '10000000', '-d', '500ms', '-c', '2', '--no-stats', `${pm.url}/?delay=0`])
    assert.equal(code, 0)
    assert.equal(result.schedule?.due, 5_000_000)
    assert.ok(result.sent < result.schedule.due / 2, `sent ${result.sent} of ${result.schedule.due}`)
    assert.ok((result.schedule?.missed ?? 0) > 0)
    assert.equal(result.schedule_kept, false)
    assert.match(stderr, /the client fell behind its schedule: it sent .* of the 5,000,000 requests that fell due/)
    assert.match(stderr, /the latency figures include the client's own delay/)
    assert.equal((await getJson(`${pm.url}/stats`)).requests, result.sent, 'the backlog was dropped, not sent after the end')
  })

  test('requests still in flight when -d ends get --timeout, then count as timed out', async () => {
    // Each answer takes 5 s; the run ends after 300 ms and waits 500 ms more.
    const { code, result } = await load(['--warmup', '0', '--qps', '10', '-d', '300ms', '--timeout', '500ms', '-c', '4', '--no-stats', `${pm.url}/?delay=5s`])
    assert.equal(code, 1, 'nothing was answered')
    assert.equal(result.schedule?.due, 3)
    // A busy machine may miss the last due time; whatever was sent timed out.
    assert.ok(result.sent >= 1 && result.sent <= 3, `sent ${result.sent}`)
    assert.equal(result.responses, 0)
    assert.equal(result.error_kinds.timeout, result.sent)
    assert.equal(result.errors, result.sent)
  })

  test('the warm-up is sent but not measured, and the measured part has its own timetable', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const { result } = await load(['--warmup', '300ms', '--qps', '100', '-d', '500ms', '-c', '2', '--no-stats', `${pm.url}/?delay=0`])
    const s = await getJson(`${pm.url}/stats`)
    assert.equal(result.schedule?.due, 50, 'the measured part: 500 ms at 100 req/s')
    assert.ok(result.sent <= 50)
    assert.ok(s.requests > result.sent, `the server also saw the warm-up: ${s.requests as number} > ${result.sent}`)
    assert.ok(s.requests <= result.sent + 30, 'at most the 30 warm-up requests that fell due')
  })
})
