// The client Job's round trip without a cluster: its script (taken from the
// rendered ConfigMap) runs with the Job's own arguments, a stand-in for
// `podmeter load` writes a known result, and deploy/collect-results.sh reads
// it back through a stand-in kubectl that serves the pods' logs.

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { ROOT, sleep } from './helpers.js'
import { one, render } from './kustomize.js'

let dir: string
let script: string
let jobArgs: string[]
const bin = (): string => join(dir, 'bin')

// Stands in for `node /app/dist/src/main/cli.js load URL … -o FILE`: records its
// arguments, prints progress on stdout, copies $STUB_RESULT to FILE (at once, or
// when it gets SIGTERM with STUB_WAIT set) and exits with $STUB_EXIT.
const STUB_NODE = `#!/bin/sh
printf '%s\\n' "$@" > "$STUB_ARGS"
out=; prev=
for a in "$@"; do [ "$prev" = -o ] && out=$a; prev=$a; done
echo "load: 1000 req/s, p99 1.234 ms"
sp=
finish () { [ -z "$sp" ] || kill "$sp"; [ -z "\${STUB_RESULT:-}" ] || cp "$STUB_RESULT" "$out"; exit "\${STUB_EXIT:-0}"; }
if [ -n "\${STUB_WAIT:-}" ]; then trap finish TERM; sleep 30 & sp=$!; echo waiting > "$STUB_ARGS.ready"; wait $sp; exit 99; fi
finish
`

// Stands in for kubectl: `get pods` lists $FAKE_PODS, `logs POD -c load` prints $FAKE_LOGS/POD.log.
const FAKE_KUBECTL = `#!/bin/sh
echo "$*" >> "$FAKE_CALLS"
case "$3" in
  get) for p in $FAKE_PODS; do echo "$p"; done ;;
  logs) cat "$FAKE_LOGS/$4.log" ;;
  *) echo "unexpected kubectl $*" >&2; exit 1 ;;
esac
`

before(() => {
  dir = mkdtempSync(join(os.tmpdir(), 'podmeter-client-'))
  mkdirSync(bin())
  writeFileSync(join(bin(), 'node'), STUB_NODE)
  writeFileSync(join(bin(), 'kubectl'), FAKE_KUBECTL)
  for (const f of ['node', 'kubectl']) chmodSync(join(bin(), f), 0o755)
  const list = render('overlays/client')
  const job = one(list, 'Job')
  const c = job.spec.template.spec.containers[0]
  jobArgs = c.args
  script = join(dir, 'run-load.sh')
  writeFileSync(script, one(list, 'ConfigMap').data['run-load.sh'])
  mkdirSync(join(dir, 'logs'))
})
after(() => { rmSync(dir, { recursive: true, force: true }) })

interface Run { code: number | null, stdout: string, stderr: string }

/** Runs the Job's command; `log` (when given) gets stdout and stderr interleaved, as `kubectl logs` shows them. */
async function runJob (name: string, env: Record<string, string>, log?: string, signalAfterReady = false): Promise<Run> {
  const fd = log === undefined ? undefined : openSync(log, 'w')
  const child = spawn('/bin/sh', [script, ...jobArgs], {
    cwd: dir,
    env: { PATH: `${bin()}:/usr/bin:/bin`, RESULT: join(dir, `${name}.result`), STUB_ARGS: join(dir, `${name}.args`), ...env },
    stdio: fd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', fd, fd]
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr?.on('data', (c: Buffer) => { stderr += c.toString() })
  if (signalAfterReady) {
    for (let i = 0; i < 200; i++) {
      try { readFileSync(join(dir, `${name}.args.ready`)); break } catch { await sleep(10) }
    }
    child.kill('SIGTERM')
  }
  const [code] = await once(child, 'exit') as [number | null]
  if (fd !== undefined) closeSync(fd)
  return { code, stdout, stderr }
}

const RESULT_A = JSON.stringify({ requests: 60000, histograms: { e2e: 'HISTFAAAACx4nJNpmSzMwMDAwQABzFCaEUrzQWkuALJwB6k=' }, note: '--- podmeter result end --- inside a string' }, null, 2) + '\n'
const RESULT_B = JSON.stringify({ requests: 59000, errors: { timeout: 3 } }) // no final newline

test('the Job runs podmeter load with its arguments and -o, and prints exactly the result between the markers on stdout', async () => {
  writeFileSync(join(dir, 'a.json'), RESULT_A)
  const r = await runJob('a', { STUB_RESULT: join(dir, 'a.json') })
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(readFileSync(join(dir, 'a.args'), 'utf8').trimEnd().split('\n'), ['/app/dist/src/main/cli.js', 'load', ...jobArgs, '-o', join(dir, 'a.result')])
  assert.equal(r.stdout, `--- podmeter result begin ---\n${RESULT_A}--- podmeter result end ---\n`)
  assert.match(r.stderr, /load: 1000 req\/s/, 'the load\'s own output goes to stderr')
})

test('a failed load prints no result and keeps its exit code', async () => {
  const r = await runJob('failed', { STUB_EXIT: '3' })
  assert.equal(r.code, 3)
  assert.equal(r.stdout, '')
  assert.match(r.stderr, /wrote no result \(exit code 3\)/)
})

test('SIGTERM to the Job\'s shell reaches the load, whose result is still printed', async () => {
  writeFileSync(join(dir, 'b.json'), RESULT_B)
  const r = await runJob('term', { STUB_RESULT: join(dir, 'b.json'), STUB_WAIT: '1' }, undefined, true)
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stdout, `--- podmeter result begin ---\n${RESULT_B}\n--- podmeter result end ---\n`)
})

test('collect-results.sh gets each succeeded pod\'s result back from kubectl logs, byte for byte', async () => {
  const pods = { 'podmeter-load-0-x7k2p': RESULT_A, 'podmeter-load-1-q9w4z': RESULT_B }
  for (const [pod, result] of Object.entries(pods)) {
    writeFileSync(join(dir, `${pod}.json`), result)
    const r = await runJob(pod, { STUB_RESULT: join(dir, `${pod}.json`) }, join(dir, 'logs', `${pod}.log`))
    assert.equal(r.code, 0)
  }
  const calls = join(dir, 'calls')
  const env = { PATH: `${bin()}:/usr/bin:/bin`, FAKE_PODS: Object.keys(pods).join(' '), FAKE_LOGS: join(dir, 'logs'), FAKE_CALLS: calls }
  const child = spawn(join(ROOT, 'deploy/collect-results.sh'), ['podmeter-sidecar'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const [code] = await once(child, 'exit')
  assert.equal(code, 0, stderr)
  assert.match(stderr, /2 result file\(s\) in results\/podmeter-sidecar\/podmeter-load/)
  for (const [pod, result] of Object.entries(pods)) {
    const got = readFileSync(join(dir, 'results/podmeter-sidecar/podmeter-load', `${pod}.json`), 'utf8')
    assert.equal(got, result.endsWith('\n') ? result : result + '\n', pod)
    assert.deepEqual(JSON.parse(got), JSON.parse(result))
  }
  const asked = readFileSync(calls, 'utf8')
  assert.match(asked, /^-n podmeter-sidecar get pods -l job-name=podmeter-load --field-selector=status\.phase==Succeeded -o jsonpath=/m, 'only pods that succeeded, so no partial or repeated run is merged')
  assert.match(asked, /^-n podmeter-sidecar logs podmeter-load-0-x7k2p -c load$/m)

  // A pod whose log holds no result: a clear error, not an empty file to merge.
  writeFileSync(join(dir, 'logs', 'podmeter-load-2-empty.log'), 'podmeter load wrote no result (exit code 3)\n')
  const bad = spawn(join(ROOT, 'deploy/collect-results.sh'), ['podmeter-sidecar', 'podmeter-load', 'out'], {
    cwd: dir, env: { ...env, FAKE_PODS: 'podmeter-load-2-empty' }, stdio: ['ignore', 'ignore', 'pipe']
  })
  let badErr = ''
  bad.stderr.on('data', (c: Buffer) => { badErr += c.toString() })
  assert.equal((await once(bad, 'exit'))[0], 1)
  assert.match(badErr, /podmeter-load-2-empty: no result in its log/)
})
