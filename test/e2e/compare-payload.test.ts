// compare holds the payload equal: results of different methods or request
// body sizes are refused (exit 2, a message naming the rounds of each), unless
// the difference is declared with --allow-different payload; results written
// before the payload was recorded compare as GET with no body, and it says so.

import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { runCli, tempFiles } from '../support/helpers.js'
import { type EchoServer, startEchoServer } from '../support/echo-server.js'

const tmp = tempFiles('compare-payload')

describe('compare refuses different payloads unless told', () => {
  let echo: EchoServer
  const files: Record<string, string> = {}
  before(async () => {
    echo = await startEchoServer()
    const runs: Array<[string, string[]]> = [
      ['get', []],
      ['get2', []],
      ['post1k', ['-m', 'POST', '--body-size', '1KiB']],
      ['post2k', ['-m', 'POST', '--body-size', '2KiB']],
      ['put1k', ['-m', 'PUT', '--body-size', '1KiB']]
    ]
    for (const [label, extra] of runs) {
      files[label] = tmp(`${label}.json`)
      const r = await runCli(['load', '-q', '--no-stats', '--warmup', '0', '-n', '50', '-c', '2', '--label', label, ...extra, '-o', files[label], `${echo.url}/`])
      assert.equal(r.code, 0, r.stderr)
    }
    // As an older podmeter wrote it: no payload, no byte counts beyond bytes_received.
    const old = JSON.parse(readFileSync(files.get as string, 'utf8')) as Record<string, unknown>
    for (const k of ['payload', 'bytes_sent', 'bytes_sent_per_second', 'bytes_received_per_second', 'client_node', 'server_node', 'placement', 'fingerprint']) delete old[k]
    old.label = 'old'
    files.old = tmp('old.json')
    writeFileSync(files.old, JSON.stringify(old))
  })
  after(async () => { await echo.close() })

  test('a different body size: exit 2, naming both payloads and where each ran', async () => {
    const r = await runCli(['compare', files.post1k as string, files.post2k as string])
    assert.equal(r.code, 2, r.stdout)
    assert.match(r.stderr, /the results differ in payload \(method and request body size\): POST, 1,024-byte request bodies \(post1k round 1\) and POST, 2,048-byte request bodies \(post2k round 1\)/)
    assert.match(r.stderr, /compare like with like, or pass --allow-different payload/)
    assert.equal(r.stdout, '', 'no table')
  })

  test('a different method, same size: refused too', async () => {
    const r = await runCli(['compare', files.post1k as string, files.put1k as string])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /POST, 1,024-byte request bodies \(post1k round 1\) and PUT, 1,024-byte request bodies \(put1k round 1\)/)
  })

  test('rounds of one target that differ are refused as well', async () => {
    const r = await runCli(['compare', `a=${files.get as string}`, `a=${files.post1k as string}`, `b=${files.get2 as string}`])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /GET, no request body \(a round 1; b round 1\) and POST, 1,024-byte request bodies \(a round 2\)/)
  })

  test('--allow-different payload: compared, with the difference noted on stderr', async () => {
    for (const flag of [['--allow-different', 'payload'], ['--allow-different=payload,payload']]) {
      const r = await runCli(['compare', ...flag, files.get as string, files.post1k as string])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /get \(1 round\) vs post1k \(1 round\)/)
      assert.match(r.stderr, /note: the results differ in payload .* as allowed by --allow-different payload/)
    }
    const unknown = await runCli(['compare', '--allow-different', 'payload,istio', files.get as string, files.post1k as string])
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /--allow-different: "istio" is not a field a comparison holds equal; the fields: payload/)
  })

  test('equal payloads compare without a word about them', async () => {
    const r = await runCli(['compare', files.get as string, files.get2 as string])
    assert.equal(r.code, 0, r.stderr)
    assert.doesNotMatch(r.stderr, /payload/)
  })

  test('an older result without a payload compares as GET with no body, and says so', async () => {
    const same = await runCli(['compare', files.old as string, files.get as string])
    assert.equal(same.code, 0, same.stderr)
    assert.match(same.stderr, /note: old round 1 has no payload record \(written by an older podmeter\): taken as GET with no request body/)
    const other = await runCli(['compare', files.old as string, files.post1k as string])
    assert.equal(other.code, 2)
    assert.match(other.stderr, /GET, no request body \(old round 1\) and POST, 1,024-byte request bodies \(post1k round 1\)/)
  })

  test('live: every round carries the same payload, so they compare; the saved comparison reads back', async () => {
    const out = tmp('live.json')
    const r = await runCli(['compare', '-q', '--rounds', '1', '-d', '200ms', '--warmup', '0', '-c', '1', '--no-stats', '-m', 'POST', '--body-size', '100',
      '-t', `a=${echo.url}/a`, '-t', `b=${echo.url}/b`, '-o', out])
    assert.equal(r.code, 0, r.stderr)
    const saved = JSON.parse(readFileSync(out, 'utf8')) as { targets: Array<{ rounds: Array<{ payload: { request_body_bytes: number }, bytes_sent: number, responses: number }> }> }
    for (const t of saved.targets) {
      for (const round of t.rounds) {
        assert.equal(round.payload.request_body_bytes, 100)
        assert.equal(round.bytes_sent, round.responses * 100)
      }
    }
    const again = await runCli(['compare', out])
    assert.equal(again.code, 0, again.stderr)
  })
})
