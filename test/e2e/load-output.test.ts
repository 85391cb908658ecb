// podmeter load's results compose: JSON on stdout with --json or -o -, people's
// text on stderr, documented exit codes, a closed pipe that ends quietly, a
// bad -o refused before any request is sent, and an interrupted run that says so.

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { after, before, describe, test } from 'node:test'
import type { LoadResult } from '../../src/cli/result.js'
import type { Running } from '../../src/main/serve.js'
import { CLI, getJson, request, ROOT, runCli, startServer, tempFiles, waitFor } from '../support/helpers.js'

const tmp = tempFiles('load-output')

describe('podmeter load output and exit codes', () => {
  let pm: Running
  before(async () => { pm = await startServer({ delayUs: 0 }) })
  after(async () => { await pm.shutdown() })

  for (const flag of [['--json'], ['-o', '-']]) {
    test(`${flag.join(' ')}: the result on stdout, the summary on stderr`, async () => {
      const r = await runCli(['load', '-q', '--warmup', '0', '-n', '200', '-c', '2', '--no-stats', ...flag, `${pm.url}/?delay=0`])
      assert.equal(r.code, 0, r.stderr)
      const result = JSON.parse(r.stdout) as LoadResult
      assert.equal(result.kind, 'podmeter-load-result')
      assert.equal(result.responses, 200)
      assert.equal(result.interrupted, false)
      assert.match(r.stderr, /podmeter load GET/)
      assert.match(r.stderr, /end to end/)
    })
  }

  test('a closed pipe ends the run quietly, with its exit code', async () => {
    const child = spawn(process.execPath, [CLI, 'load', '-q', '-n', '300', '-c', '2', '--no-stats', '--json', `${pm.url}/?delay=0`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    // The reading end goes away before a byte is read, as `| head -c 0` does.
    child.stdout.destroy()
    const [code] = await once(child, 'exit')
    assert.equal(code, 0, stderr)
    assert.doesNotMatch(stderr, /EPIPE|Error|at /)
  })

  test('-o into a folder that does not exist fails at once: exit 2, nothing sent', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const r = await runCli(['load', '-q', '-n', '50', '-c', '1', '--no-stats', '-o', tmp('no-such-dir/r.json'), `${pm.url}/?delay=0`])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /-o\/--output: cannot write .*its folder does not exist/)
    assert.equal((await getJson(`${pm.url}/stats`)).requests, 0, 'the run never started')
  })

  test('SIGINT: the result is written with interrupted: true, exit 130', async () => {
    const out = tmp('interrupted.json')
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const child = spawn(process.execPath, [CLI, 'load', '-q', '--warmup', '0', '-d', '60s', '-c', '2', '--no-stats', '-o', out, `${pm.url}/?delay=1ms`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
    const exited = once(child, 'exit')
    // Interrupted once it has measured something, counted at the server.
    await waitFor('requests at the server', async () => (await getJson(`${pm.url}/stats`)).requests >= 20, 30_000)
    child.kill('SIGINT')
    const [code] = await exited
    assert.equal(code, 130)
    const result = JSON.parse(await readFile(out, 'utf8')) as LoadResult
    assert.equal(result.interrupted, true)
    assert.ok(result.responses >= 20)
    assert.match(stdout, /interrupted \(Ctrl-C\)/)
  })
})
