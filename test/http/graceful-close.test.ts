// SIGTERM under a load of many connections that reconnect after every
// `Connection: close`: not one request reset or cut, only connections
// refused once the listener is closed; the process exits 0. Counted, never
// timed.

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import http from 'node:http'
import { test } from 'node:test'
import { getJson, runTool, startCli, waitFor } from '../support/helpers.js'

const CONNECTIONS = 100

interface Outcome { answered: number, refused: number, failed: Record<string, number> }

/** CONNECTIONS lanes, each sending GETs one after another until its connection is refused. */
async function untilRefused (url: string): Promise<Outcome> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS })
  const outcome: Outcome = { answered: 0, refused: 0, failed: {} }
  const once = async (): Promise<void> => await new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      res.resume()
      res.on('end', () => { if (res.statusCode === 200) resolve(); else reject(new Error(`status ${String(res.statusCode)}`)) })
      res.on('error', reject)
    })
    req.on('error', reject)
  })
  const lane = async (): Promise<void> => {
    for (;;) {
      try {
        await once()
        outcome.answered++
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
        if (code === 'ECONNREFUSED') { outcome.refused++; return }
        outcome.failed[code] = (outcome.failed[code] ?? 0) + 1
      }
    }
  }
  await Promise.all(Array.from({ length: CONNECTIONS }, lane))
  agent.destroy()
  return outcome
}

test(`SIGTERM under ${CONNECTIONS} reconnecting connections: no reset, no cut request, exit 0`, async (t) => {
  const pm = await startCli(['serve', '--delay-ms', '0', '--shutdown-delay-ms', '1000', '--shutdown-grace-ms', '10000'])
  try {
    const run = untilRefused(`${pm.url}/`)
    await waitFor('the load under way', async () => (await getJson(`${pm.url}/stats`)).requests > 2000, 20_000)
    pm.child.kill('SIGTERM')
    const outcome = await run
    t.diagnostic(JSON.stringify(outcome))
    assert.deepEqual(outcome.failed, {}, 'no ECONNRESET, no EPIPE, no socket hang up')
    assert.equal(outcome.refused, CONNECTIONS, 'each lane ended on a refused connection, after the listener closed')
    assert.ok(outcome.answered > 2000)
    assert.equal(await pm.exit, 0)
  } finally {
    if (pm.child.exitCode === null) pm.child.kill('SIGKILL')
  }
})

function has (tool: string): boolean {
  try { execFileSync('which', [tool], { stdio: 'ignore' }); return true } catch { return false }
}

test(`SIGTERM during hey -c ${CONNECTIONS}: every failed request is a refused connection`, { skip: has('hey') ? false : 'hey is not installed (.ci/run installs it)' }, async (t) => {
  const pm = await startCli(['serve', '--delay-ms', '0', '--shutdown-delay-ms', '1000', '--shutdown-grace-ms', '10000'])
  try {
    // Longer than the whole shutdown: hey is still sending when the listener closes.
    const run = runTool('hey', ['-z', '6s', '-c', String(CONNECTIONS), `${pm.url}/`])
    await waitFor('hey under way', async () => (await getJson(`${pm.url}/stats`)).requests > 2000, 20_000)
    pm.child.kill('SIGTERM')
    assert.equal(await pm.exit, 0)
    const hey = await run
    const ok = Number(/\[200\]\s+(\d+) responses/.exec(hey.stdout)?.[1] ?? 0)
    const errors = hey.stdout.slice(hey.stdout.indexOf('Error distribution:')).split('\n').filter((l) => /^\s+\[\d+\]/.test(l))
    const kinds = new Map<string, number>()
    for (const line of errors) {
      const kind = line.replace(/^\s+\[(\d+)\]\s+/, '').replace(/127\.0\.0\.1:\d+/g, 'addr')
      kinds.set(kind, (kinds.get(kind) ?? 0) + Number(/\[(\d+)\]/.exec(line)?.[1]))
    }
    t.diagnostic(`200: ${ok}; errors: ${JSON.stringify([...kinds])}`)
    assert.ok(ok > 2000, hey.stdout)
    assert.ok(errors.length > 0, 'hey was still sending when the listener closed')
    for (const line of errors) assert.match(line, /connection refused/)
  } finally {
    if (pm.child.exitCode === null) pm.child.kill('SIGKILL')
  }
})
