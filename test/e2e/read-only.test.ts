// The app needs no writable path outside /tmp: run as an unprivileged user
// (uid 65534) in a mount namespace where every filesystem but a fresh /tmp is
// read-only (what Kubernetes' readOnlyRootFilesystem with an emptyDir at /tmp
// gives the container), and every endpoint still works, a replacement worker
// thread included, and SIGTERM still exits 0.

import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { CLI, getJson, request, ROOT, waitFor } from '../support/helpers.js'

const TOKEN = 'read-only-test-token-0123456789'
const NOBODY = 65534

// Runs as root inside the new mount namespace, then drops to uid 65534. /tmp
// becomes a mount of its own (bound onto itself, so a Node installed under it,
// as CI's Node 24 is, still runs) and stays writable; the checkout is bound
// onto itself too, so that it turns read-only with every other mount even
// when it lies under /tmp.
const SANDBOX = `set -e
mount --bind /tmp /tmp
mount --bind "$PWD" "$PWD"
while read -r _ mp _; do
  case "$mp" in /tmp|/proc|/proc/*|/sys|/sys/*) continue ;; esac
  mount -o remount,bind,ro "$mp" 2>/dev/null || true
done < /proc/self/mounts
for p in / /dev/shm "$PWD"; do
  if touch "$p/.podmeter-rw-check" 2>/dev/null; then rm -f "$p/.podmeter-rw-check"; echo "sandbox: $p is writable" >&2; exit 97; fi
done
exec setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups "$0" "$@"`

/**
 * `namespace`: root with a mount namespace (the test above); `permissions`:
 * root without one (a container without CAP_SYS_ADMIN), so the server runs as
 * uid 65534 against file permissions alone, which must keep the tree
 * read-only to it; undefined: neither can be arranged here.
 */
function sandbox (): 'namespace' | 'permissions' | undefined {
  if (process.getuid?.() !== 0) return undefined
  if (spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']).status === 0 && spawnSync('setpriv', ['--version']).status === 0) return 'namespace'
  const asNobody = { uid: NOBODY, gid: NOBODY, cwd: '/' }
  const runs = spawnSync(process.execPath, ['--version'], asNobody).status === 0
  const writable = spawnSync('sh', ['-c', 'touch "$0/.podmeter-rw-check" && rm -f "$0/.podmeter-rw-check"', ROOT], asNobody).status === 0
  return runs && !writable ? 'permissions' : undefined
}

test('read-only root filesystem, writable /tmp only, uid 65534: every endpoint works', async (t) => {
  const how = sandbox()
  if (how === undefined) { t.skip('needs root, and either unshare --mount with setpriv (util-linux) or a tree uid 65534 cannot write'); return }
  if (how === 'permissions') t.diagnostic('no mount namespace here: uid 65534 against file permissions only')
  const args = [CLI, 'serve', '--host', '127.0.0.1', '--port', '0', '--delay-ms', '0', '--shutdown-delay-ms', '0', '--faults', 'on']
  const options = {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: '/tmp', HOME: '/nonexistent', PODMETER_ADMIN_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe']
  }
  const child = how === 'namespace'
    ? spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', SANDBOX, process.execPath, ...args], options)
    : spawn(process.execPath, args, { ...options, uid: NOBODY, gid: NOBODY })
  let out = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr.on('data', (c: Buffer) => { out += c.toString() })
  const exit = once(child, 'exit') as Promise<[number | null, string | null]>
  try {
    await waitFor('the server to listen', () => /listening on http/.test(out) || child.exitCode !== null, 15_000)
    const url = /listening on (http:\/\/\S+)/.exec(out)?.[1]
    assert.ok(url !== undefined, `did not start: ${out}`)
    await waitFor('/readyz 200', async () => (await request(`${url}/readyz`)).status === 200, 30_000)
    assert.match(readFileSync(`/proc/${String(child.pid)}/status`, 'utf8'), new RegExp(`^Uid:\\t${NOBODY}\\t`, 'm'), 'runs unprivileged')
    if (how === 'namespace') {
      const root = readFileSync(`/proc/${String(child.pid)}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/')
      assert.match(root ?? '', /\sro[,\s]/, 'its root filesystem is read-only')
    }

    const auth = { authorization: `Bearer ${TOKEN}` }
    const gets: Array<[string, number, Record<string, string>?]> = [
      ['/?delay=0', 200], ['/?delay=1ms', 200], ['/?status=503', 503], ['/stats', 200], ['/stats?percentiles=50,99.9&window=5', 200],
      ['/stats/histogram', 200], ['/stats/histogram?format=hgrm', 200], ['/metrics', 200],
      ['/metrics', 200, { accept: 'application/openmetrics-text; version=1.0.0' }], ['/livez', 200], ['/healthz', 200], ['/readyz', 200],
      ['/debug/headers', 200], ['/dashboard', 200], ['/dashboard/app.js', 200], ['/dashboard/uplot.js', 200], ['/nope', 404], ['/?delay=abc', 400]
    ]
    for (const [path, status, headers] of gets) assert.equal((await request(url + path, { headers: headers ?? {} })).status, status, path)
    assert.equal((await request(`${url}/stats/reset`, { method: 'POST' })).status, 401)
    assert.equal((await request(`${url}/stats/reset`, { method: 'POST', headers: auth })).status, 200)
    assert.equal((await request(`${url}/?delay=0`)).status, 200)
    // A replacement worker thread loads its code from the read-only tree.
    assert.equal((await request(`${url}/debug/worker/crash?mode=exit`, { method: 'POST', headers: auth })).status, 202)
    await waitFor('a replacement worker', async () => (await getJson(`${url}/stats`)).worker_restarts === 1)
    const s = await getJson(`${url}/stats`)
    assert.equal(s.requests, 1)
    assert.equal(s.samples, 1)

    child.kill('SIGTERM')
    const [code, signal] = await exit
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, out)
    assert.ok(!/EROFS|EACCES|read-only file system/i.test(out), `no write was attempted: ${out}`)
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
})
