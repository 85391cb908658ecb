// SIGTERM as Kubernetes sends it: while `podmeter load` runs at full rate,
// not one request fails; the process exits 0 within SHUTDOWN_GRACE_MS.

import assert from 'node:assert/strict'
import { readFileSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { LoadResult } from '../../src/cli/result.js'
import { getJson, request, runCli, sleep, startCli, waitFor } from '../support/helpers.js'

test('SIGTERM while podmeter load runs at full rate: zero failed requests, every one counted, exit 0', async (t) => {
  const dir = mkdtempSync(join(os.tmpdir(), 'podmeter-shutdown-'))
  const pm = await startCli(['serve', '--delay-ms', '0', '--shutdown-delay-ms', '4000', '--shutdown-grace-ms', '8000'])
  try {
    const out = join(dir, 'load.json')
    const run = runCli(['load', '-q', '--warmup', '0', '-c', '16', '-d', '2s', '--no-stats', '-o', out, `${pm.url}/?delay=0`])
    await waitFor('the load at full rate', async () => (await getJson(`${pm.url}/stats`)).requests > 2000, 10_000)
    pm.child.kill('SIGTERM')
    await sleep(100)
    // Still answering meanwhile, but no longer ready, and every answer closes its connection.
    const ready = await request(`${pm.url}/readyz`)
    assert.equal(ready.status, 503)
    assert.equal(JSON.parse(ready.body).error.code, 'SHUTTING_DOWN')
    assert.equal(ready.headers.connection, 'close')

    const loaded = await run
    assert.equal(loaded.code, 0, loaded.stderr)
    const r = JSON.parse(readFileSync(out, 'utf8')) as LoadResult
    t.diagnostic(`${r.responses} answered at ${r.rate} req/s over ${r.connections_opened} connections; errors ${JSON.stringify(r.error_kinds)}`)
    assert.equal(r.errors, 0, `no request failed: ${JSON.stringify(r.error_examples)}`)
    assert.equal(r.cancelled, 0)
    assert.equal(r.responses, r.sent)
    assert.deepEqual(r.status_codes, { 200: r.responses })
    assert.ok(r.connections_opened > 16, 'the keep-alive connections were told to close, and the client reconnected')
    // The listener is still open (SHUTDOWN_DELAY_MS): the count is exactly what the client got.
    const s = await getJson(`${pm.url}/stats`)
    assert.equal(s.requests, r.responses)
    assert.equal(s.errors, 0)

    assert.equal(await pm.exit, 0)
    assert.match(pm.output(), /SIGTERM, answering for 4000 ms more, then finishing in-flight requests/)
    await assert.rejects(request(`${pm.url}/livez`), 'no longer accepting')
  } finally {
    if (pm.child.exitCode === null) pm.child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
})

test('SHUTDOWN_GRACE_MS bounds the exit: a request still running then is cut, and the process exits 0', async () => {
  const pm = await startCli(['serve', '--delay-ms', '0', '--shutdown-delay-ms', '0', '--shutdown-grace-ms', '500'])
  try {
    const slow = request(`${pm.url}/?delay=10s`).then(() => 'answered', () => 'cut')
    // Its connection and this one.
    await waitFor('the slow request in flight', async () => (await getJson(`${pm.url}/stats`)).connections_open >= 2)
    pm.child.kill('SIGTERM')
    assert.equal(await pm.exit, 0)
    assert.equal(await slow, 'cut')
  } finally {
    if (pm.child.exitCode === null) pm.child.kill('SIGKILL')
  }
})

test('SIGINT (Ctrl-C) skips SHUTDOWN_DELAY_MS', async () => {
  const pm = await startCli(['serve', '--shutdown-delay-ms', '60000', '--shutdown-grace-ms', '120000'])
  pm.child.kill('SIGINT')
  assert.equal(await pm.exit, 0)
  assert.match(pm.output(), /SIGINT, finishing in-flight requests/)
})

for (const second of ['SIGINT', 'SIGTERM'] as const) {
  test(`${second} after SIGTERM stops at once: the request in flight is cut, exit ${second === 'SIGINT' ? 130 : 143}`, { timeout: 30_000 }, async () => {
    const pm = await startCli(['serve', '--max-delay-ms', '60000', '--shutdown-delay-ms', '60000', '--shutdown-grace-ms', '120000'])
    try {
      const slow = request(`${pm.url}/?delay=30s`).then(() => 'answered', () => 'cut')
      await waitFor('the slow request in flight', async () => (await getJson(`${pm.url}/stats`)).connections_open >= 2)
      pm.child.kill('SIGTERM')
      await waitFor('the first signal taken', () => pm.output().includes('SIGTERM, answering for 60000 ms more'))
      pm.child.kill(second)
      assert.equal(await pm.exit, second === 'SIGINT' ? 130 : 143)
      assert.equal(await slow, 'cut')
      assert.match(pm.output(), new RegExp(`${second} again, stopping now`))
    } finally {
      if (pm.child.exitCode === null) pm.child.kill('SIGKILL')
    }
  })
}
