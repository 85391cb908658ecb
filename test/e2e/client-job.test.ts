// The client Jobs' round trip without a cluster: the script from the rendered
// ConfigMap runs with the Job's own arguments (as Kubernetes expands them),
// its output goes where `kubectl logs` reads it, deploy/collect-results.sh
// reads it back through a stand-in kubectl, and the real `podmeter merge` and
// `podmeter compare` read what it collected. The image's node at /app is this
// checkout's CLI; a stub stands in for podmeter where exact bytes are checked.

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { Running } from '../../src/main/serve.js'
import { CLI, ROOT, runCli, sleep, startCli, startServer } from '../support/helpers.js'
import { expandArgs, one, render } from '../support/kustomize.js'

let dir: string
let pm: Running
const jobs: Record<'client' | 'client-baseline', { script: string, args: string[] }> = {} as any
const BEGIN = '--- podmeter result begin ---'
const END = '--- podmeter result end ---'

// Stands in for `node /app/dist/src/cli/main.js ARGS… -o FILE`: records its
// arguments, prints a line on stdout, copies $STUB_RESULT to FILE, exits $STUB_EXIT.
const STUB_NODE = `#!/bin/sh
printf '%s\\n' "$@" > "$STUB_ARGS"
out=; prev=
for a in "$@"; do [ "$prev" = -o ] && out=$a; prev=$a; done
echo "load: 1000 req/s, p99 1.234 ms"
[ -z "\${STUB_RESULT:-}" ] || cp "$STUB_RESULT" "$out"
exit "\${STUB_EXIT:-0}"
`
// The image's node, running this checkout's podmeter for /app/dist/src/cli/main.js.
const REAL_NODE = `#!/bin/sh
shift
exec "$REAL_NODE" "$PODMETER_CLI" "$@"
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

function executable (path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true })
  writeFileSync(path, text)
  chmodSync(path, 0o755)
}

before(async () => {
  dir = mkdtempSync(join(os.tmpdir(), 'podmeter-client-'))
  executable(join(dir, 'stub/node'), STUB_NODE)
  executable(join(dir, 'real/node'), REAL_NODE)
  executable(join(dir, 'kubectl/kubectl'), FAKE_KUBECTL)
  mkdirSync(join(dir, 'logs'))
  for (const name of ['client', 'client-baseline'] as const) {
    const list = render(`overlays/${name}`)
    const c = one(list, 'Job').spec.template.spec.containers[0]
    const script = join(dir, `${name}.sh`)
    writeFileSync(script, one(list, 'ConfigMap').data['run-client.sh'])
    jobs[name] = { script, args: expandArgs(c, { POD_NAMESPACE: 'podmeter-sidecar' }) }
  }
  pm = await startServer({ delayUs: 0, baselinePort: 0 })
})
after(async () => {
  await pm.shutdown()
  rmSync(dir, { recursive: true, force: true })
})

/** The Job's arguments aimed at the local PodMeter (or `url`) and shortened to test length. */
function local (args: string[], label?: string, url = pm.url): string[] {
  const out = args.map((a) => a
    .replace(/http:\/\/podmeter-baseline:\d+/, pm.baseline?.url as string)
    .replace(/http:\/\/podmeter:\d+/, url))
  const set = (flag: string, value: string): void => { const i = out.indexOf(flag); if (i >= 0) out[i + 1] = value }
  set('-d', out[0] === 'compare' ? '300ms' : '1s')
  set('--warmup', '0')
  set('--rounds', '3')
  if (label !== undefined) set('--label', label)
  return out
}

interface Run { code: number | null, stdout: string, stderr: string }

/**
 * Runs a Job's command with `node` from `bin` (stub or real). `log`, when
 * given, gets stdout and stderr interleaved, as `kubectl logs` shows them.
 */
async function runJob (job: { script: string }, args: string[], bin: 'stub' | 'real', env: Record<string, string>, log?: string, term = false): Promise<Run> {
  const fd = log === undefined ? undefined : openSync(log, 'w')
  const child = spawn('/bin/sh', [job.script, ...args], {
    cwd: dir,
    env: { PATH: `${join(dir, bin)}:/usr/bin:/bin`, REAL_NODE: process.execPath, PODMETER_CLI: CLI, ...env },
    stdio: fd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', fd, fd]
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr?.on('data', (c: Buffer) => { stderr += c.toString() })
  if (term) {
    // Once the load is under way (its requests reach the server), stop the pod.
    for (let i = 0; i < 300 && (await pmRequests()) === 0; i++) await sleep(20)
    child.kill('SIGTERM')
  }
  const [code] = await once(child, 'exit') as [number | null]
  if (fd !== undefined) closeSync(fd)
  return { code, stdout, stderr }
}

async function pmRequests (): Promise<number> {
  const r = await fetch(`${pm.url}/stats`)
  return ((await r.json()) as { requests: number }).requests
}

/** deploy/collect-results.sh with a kubectl that serves `pods` from dir/logs. */
async function collect (args: string[], pods: string[]): Promise<{ code: number | null, stderr: string, calls: string }> {
  const calls = join(dir, `calls-${String(Math.random()).slice(2)}`)
  writeFileSync(calls, '')
  const child = spawn(join(ROOT, 'deploy/collect-results.sh'), args, {
    cwd: dir,
    env: { PATH: `${join(dir, 'kubectl')}:/usr/bin:/bin`, FAKE_PODS: pods.join(' '), FAKE_LOGS: join(dir, 'logs'), FAKE_CALLS: calls },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const [code] = await once(child, 'exit') as [number | null]
  return { code, stderr, calls: readFileSync(calls, 'utf8') }
}

const RESULT_A = JSON.stringify({ requests: 60000, note: `${END} inside a string` }, null, 2) + '\n'
const RESULT_B = JSON.stringify({ requests: 59000 }) // no final newline

test('the Job runs podmeter with its arguments and -o, and prints exactly the result between the markers on stdout', async () => {
  for (const [name, result] of [['a', RESULT_A], ['b', RESULT_B]] as const) {
    writeFileSync(join(dir, `${name}.json`), result)
    const out = join(dir, `${name}.result`)
    const r = await runJob(jobs.client, jobs.client.args, 'stub', { RESULT: out, STUB_RESULT: join(dir, `${name}.json`), STUB_ARGS: join(dir, `${name}.args`) })
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(readFileSync(join(dir, `${name}.args`), 'utf8').trimEnd().split('\n'), ['/app/dist/src/cli/main.js', ...jobs.client.args, '-o', out])
    assert.equal(r.stdout, `${BEGIN}\n${result.endsWith('\n') ? result : result + '\n'}${END}\n`)
    assert.match(r.stderr, /load: 1000 req\/s/, 'what podmeter prints goes to stderr')
  }
  const failed = await runJob(jobs.client, jobs.client.args, 'stub', { RESULT: join(dir, 'f.result'), STUB_EXIT: '3', STUB_ARGS: join(dir, 'f.args') })
  assert.equal(failed.code, 3, 'a failed run keeps its exit code')
  assert.equal(failed.stdout, '', 'and prints no result')
  assert.match(failed.stderr, /wrote no result \(exit code 3\)/)
})

test('client: two pods of podmeter load, collected with kubectl logs, merged exactly and compared by label', async () => {
  await fetch(`${pm.url}/stats/reset`, { method: 'POST' })
  const pods = { 'podmeter-load-0-x7k2p': 'podmeter-plain', 'podmeter-load-1-q9w4z': 'podmeter-sidecar' }
  for (const [pod, label] of Object.entries(pods)) {
    const r = await runJob(jobs.client, local(jobs.client.args, label), 'real', { RESULT: join(dir, `${pod}.result`) }, join(dir, 'logs', `${pod}.log`))
    assert.equal(r.code, 0, readFileSync(join(dir, 'logs', `${pod}.log`), 'utf8'))
  }
  const c = await collect(['podmeter-sidecar'], Object.keys(pods))
  assert.equal(c.code, 0, c.stderr)
  assert.match(c.calls, /^-n podmeter-sidecar get pods -l job-name=podmeter-load --field-selector=status\.phase==Succeeded -o jsonpath=/m, 'only pods that succeeded: no partial or repeated run')
  assert.match(c.calls, /^-n podmeter-sidecar logs podmeter-load-0-x7k2p -c load$/m)
  const out = join(dir, 'results/podmeter-sidecar/podmeter-load')
  const files = readdirSync(out).map((f) => join(out, f)).sort()
  assert.equal(files.length, 2)
  let answered = 0
  for (const [i, f] of files.entries()) {
    const text = readFileSync(f, 'utf8')
    assert.equal(text, readFileSync(join(dir, `${Object.keys(pods)[i] as string}.result`), 'utf8'), 'the collected file is the result, byte for byte')
    answered += (JSON.parse(text) as { responses: number }).responses
  }
  assert.ok(answered > 0)
  assert.equal(await pmRequests(), answered, 'the server counted what the two pods sent')

  const merged = join(dir, 'merged.json')
  const m = await runCli(['merge', ...files, '-o', merged])
  assert.equal(m.code, 0, m.stderr)
  const doc = JSON.parse(readFileSync(merged, 'utf8')) as { sources: Array<{ count: number }>, latency_ms: { count: number } }
  assert.deepEqual(doc.sources.map((x) => x.count), files.map((f) => (JSON.parse(readFileSync(f, 'utf8')) as { responses: number }).responses))
  assert.equal(doc.latency_ms.count, answered, 'merge adds the pods\' histograms exactly')
  const cmp = await runCli(['compare', ...files])
  assert.equal(cmp.code, 0, cmp.stderr)
  assert.match(cmp.stdout, /podmeter-plain/)
  assert.match(cmp.stdout, /podmeter-sidecar/)
})

test('client-baseline: podmeter compare of the baseline and the measured port, its result collected and read back', async () => {
  const pod = 'podmeter-load-baseline-0-a1b2c'
  const r = await runJob(jobs['client-baseline'], local(jobs['client-baseline'].args), 'real', { RESULT: join(dir, 'baseline.result') }, join(dir, 'logs', `${pod}.log`))
  const log = readFileSync(join(dir, 'logs', `${pod}.log`), 'utf8')
  assert.equal(r.code, 0, log)
  assert.match(log, /baseline/)
  assert.match(log, /meshed/)
  const c = await collect(['podmeter-sidecar', 'podmeter-load-baseline'], [pod])
  assert.equal(c.code, 0, c.stderr)
  const file = join(dir, 'results/podmeter-sidecar/podmeter-load-baseline', `${pod}.json`)
  const again = await runCli(['compare', file])
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stdout, /baseline/)
  assert.match(again.stdout, /meshed/)
})

test('SIGTERM to the pod reaches podmeter load as SIGINT: it stops early and its result is still printed', async () => {
  const args = local(jobs.client.args)
  args[args.indexOf('-d') + 1] = '60s'
  await fetch(`${pm.url}/stats/reset`, { method: 'POST' })
  const r = await runJob(jobs.client, args, 'real', { RESULT: join(dir, 'term.result') }, undefined, true)
  assert.equal(r.code, 0, r.stderr)
  assert.ok(r.stdout.startsWith(`${BEGIN}\n`) && r.stdout.endsWith(`\n${END}\n`), r.stdout.slice(0, 200))
  const result = JSON.parse(r.stdout.slice(BEGIN.length + 1, -(END.length + 1))) as { duration_seconds: number, responses: number }
  assert.ok(result.duration_seconds < 30, `stopped early: ${result.duration_seconds} s`)
  assert.ok(result.responses > 0)
})

test('collect-results.sh refuses a pod whose log holds no result, and a job with no succeeded pod', async () => {
  writeFileSync(join(dir, 'logs', 'podmeter-load-2-empty.log'), 'podmeter wrote no result (exit code 3)\n')
  const bad = await collect(['podmeter-sidecar', 'podmeter-load', 'out'], ['podmeter-load-2-empty'])
  assert.equal(bad.code, 1)
  assert.match(bad.stderr, /podmeter-load-2-empty: no result in its log/)
  const none = await collect(['podmeter-sidecar'], [])
  assert.equal(none.code, 1)
  assert.match(none.stderr, /no succeeded pod of job podmeter-load/)
})

test('placement: the same-node and cross-node Jobs record where they ran, collect-results.sh keeps it and sums it up', async () => {
  // The server pod's NODE_NAME, as the Downward API sets it from spec.nodeName.
  const server = await startCli(['serve', '--delay-ms', '0'], { NODE_NAME: 'node-a' })
  try {
    for (const [overlay, node, placement] of [['client-same-node', 'node-a', 'same-node'], ['client-cross-node', 'node-b', 'cross-node']] as const) {
      const list = render(`overlays/${overlay}`)
      const job = one(list, 'Job')
      const script = join(dir, `${overlay}.sh`)
      writeFileSync(script, one(list, 'ConfigMap').data['run-client.sh'])
      const args = local(expandArgs(job.spec.template.spec.containers[0], { POD_NAMESPACE: 'podmeter-ambient' }), undefined, server.url)
      const pod = `${job.metadata.name as string}-0-k8s5x`
      // The client pod's NODE_NAME: the node the scheduler put it on.
      const r = await runJob({ script }, args, 'real', { RESULT: join(dir, `${pod}.result`), NODE_NAME: node }, join(dir, 'logs', `${pod}.log`))
      assert.equal(r.code, 0, readFileSync(join(dir, 'logs', `${pod}.log`), 'utf8'))
      const c = await collect(['podmeter-ambient', job.metadata.name], [pod])
      assert.equal(c.code, 0, c.stderr)
      assert.match(c.stderr, new RegExp(`^1 result file\\(s\\) in results/podmeter-ambient/${job.metadata.name as string} \\(placement: ${placement} × 1\\)$`, 'm'))
      const result = JSON.parse(readFileSync(join(dir, 'results/podmeter-ambient', job.metadata.name, `${pod}.json`), 'utf8')) as Record<string, unknown>
      assert.equal(result.placement, placement)
      assert.equal(result.client_node, node)
      assert.equal(result.server_node, 'node-a')
      assert.equal(result.label, `podmeter-ambient-${placement}`)
    }
  } finally {
    server.child.kill('SIGTERM')
    await server.exit
  }
})
