import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, copyFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { buildStages, dockerignore, imageTag, makeContext, parseDockerfile, type Instruction } from '../support/docker-build.js'
import { freePort, getJson, request, ROOT, sleep, waitFor } from '../support/helpers.js'

const df = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string, license: string, description: string, dependencies: Record<string, string>, devDependencies: Record<string, string> }
const runtime = df.stages.at(-1)
const only = (op: string, list: Instruction[] = runtime?.instructions ?? []): Instruction[] => list.filter((i) => i.op === op)

test('Dockerfile: pinned Node 24 Alpine stages, production-only runtime stage, numeric user, exec-form CMD', () => {
  assert.ok(df.stages.length >= 3, 'deps, build and runtime stages')
  for (const s of df.stages) {
    const { repository, tag } = imageTag(s.image)
    assert.equal(repository, 'node', s.image)
    assert.ok(tag !== undefined && tag !== 'latest' && /^24(\.\d+){0,2}-alpine/.test(tag), `${s.image}: Node 24 Alpine, pinned by tag, never latest`)
  }
  const named = new Map(df.stages.map((s) => [s.name, s]))
  const deps = named.get('deps')
  const build = named.get('build')
  assert.ok(deps !== undefined && build !== undefined)
  assert.match(only('RUN', deps.instructions).map((i) => i.args).join('\n'), /^npm ci --omit=dev\b/m, 'deps installs production dependencies only')
  const buildRuns = only('RUN', build.instructions).map((i) => i.args)
  assert.ok(buildRuns.some((r) => /^npm ci\b/.test(r)) && buildRuns.includes('npm run build'), 'build stage runs npm ci and the tsc build')

  assert.ok(runtime !== undefined)
  assert.deepEqual(only('RUN'), [], 'the runtime stage installs nothing')
  assert.deepEqual(only('COPY').map((i) => `${i.flags.from ?? 'context'}: ${i.args}`).sort(), [
    'build: /app/dist/src ./dist/src',
    'context: package.json ./',
    'deps: /app/node_modules ./node_modules'
  ])
  assert.deepEqual(only('USER').map((i) => i.args), ['1000:1000'], 'numeric uid:gid, so runAsNonRoot can check it')
  assert.deepEqual(only('ENTRYPOINT'), [])
  const cmd = only('CMD')
  assert.equal(cmd.length, 1)
  assert.ok(cmd[0]?.args.startsWith('['), 'exec form: node is PID 1, not a shell')
  assert.deepEqual(JSON.parse(cmd[0]?.args ?? ''), ['node', 'dist/src/cli/main.js', 'serve'])
})

/** The runtime stage's LABELs, `${ARG}` left as written. */
function labels (): Map<string, string> {
  const out = new Map<string, string>()
  for (const i of only('LABEL')) {
    for (const m of i.args.matchAll(/([\w.-]+)=("(?:[^"\\]|\\.)*"|\S+)/g)) out.set(m[1] as string, (m[2] as string).startsWith('"') ? JSON.parse(m[2] as string) as string : m[2] as string)
  }
  return out
}

/** The HEALTHCHECK's flags and its exec-form command. */
function healthcheck (): { flags: Record<string, string>, cmd: string[] } {
  const h = only('HEALTHCHECK')
  assert.equal(h.length, 1, 'one HEALTHCHECK')
  const m = /^CMD\s+(\[.*\])$/s.exec(h[0]?.args ?? '')
  assert.ok(m !== null, `exec form, no shell in between: ${h[0]?.args ?? ''}`)
  return { flags: h[0]?.flags ?? {}, cmd: JSON.parse(m[1] as string) as string[] }
}

const seconds = (d: string | undefined): number => {
  const m = /^(\d+)(ms|s|m)$/.exec(d ?? '')
  assert.ok(m !== null, `a duration: ${String(d)}`)
  return Number(m[1]) * ({ ms: 0.001, s: 1, m: 60 }[m[2] as string] as number)
}

test('Dockerfile: OCI labels, the version from package.json', () => {
  assert.equal(df.globalArgs.VERSION, pkg.version, 'ARG VERSION defaults to package.json\'s version')
  assert.ok(only('ARG').some((i) => i.args === 'VERSION') && only('ARG').some((i) => i.args === 'SOURCE'), 'both brought into the runtime stage')
  const l = labels()
  assert.match(l.get('org.opencontainers.image.version') ?? '', /^\$\{VERSION\}$/)
  assert.match(l.get('org.opencontainers.image.source') ?? '', /^\$\{SOURCE\}$/)
  assert.equal(l.get('org.opencontainers.image.licenses'), pkg.license)
  assert.equal(l.get('org.opencontainers.image.title'), 'PodMeter')
  assert.ok((l.get('org.opencontainers.image.description') ?? '').length > 20)
  for (const key of l.keys()) assert.match(key, /^org\.opencontainers\.image\.[a-z.]+$/)
})

test('Dockerfile: a HEALTHCHECK on /livez by node itself, its own timeout shorter than docker\'s', () => {
  const { flags, cmd } = healthcheck()
  assert.deepEqual(cmd.slice(0, 2), ['node', '-e'], 'node, not curl or wget')
  assert.match(cmd[2] as string, /path: '\/livez'/)
  const own = Number(/timeout: (\d+)/.exec(cmd[2] as string)?.[1]) / 1000
  assert.ok(own > 0 && own < seconds(flags.timeout), `the script gives up (${own} s) before docker kills it (${String(flags.timeout)})`)
  assert.ok(seconds(flags.interval) >= 5 && Number(flags.retries) >= 2, 'not so often or so strict that a busy run trips it')
})

test('.dockerignore lets in only what the build reads', () => {
  const out = dockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'))
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.dashboard.json', 'src/cli/main.ts', 'src/worker/drain.ts', 'src/dashboard/app.ts']) assert.equal(out(f), false, f)
  for (const f of ['node_modules/piscina/package.json', 'dist/src/cli/main.js', '.git/HEAD', 'test/helpers.ts', 'bench/run.ts', 'deploy/base/deployment.yaml', 'README.md', 'Dockerfile']) {
    assert.equal(out(f), true, f)
  }
  // The matcher itself, on Docker's own examples.
  const m = dockerignore('*/temp*\n**/*.log\n!keep.log\n')
  assert.equal(m('a/temporary.txt'), true)
  assert.equal(m('a/b/temp.txt'), false)
  assert.equal(m('x/y/z.log'), true)
  assert.equal(m('keep.log'), false)
})

function walk (dir: string, fn: (path: string) => void): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    const st = lstatSync(p)
    if (st.isSymbolicLink()) continue
    if (st.isDirectory()) walk(p, fn)
    fn(p)
  }
}

test('built as the Dockerfile says, the runtime file set alone serves read-only as uid 1000, runs podmeter load, and exits 0 on SIGTERM', { timeout: 300_000 }, async (t) => {
  assert.ok(runtime !== undefined)
  const work = mkdtempSync(join(os.tmpdir(), 'podmeter-image-'))
  let child: ReturnType<typeof spawn> | undefined
  try {
    const context = join(work, 'context')
    const files = makeContext(ROOT, context)
    assert.ok(files.includes('src/cli/main.ts') && files.includes('package-lock.json'))
    assert.ok(!files.some((f) => f.startsWith('test/') || f.startsWith('node_modules/')), 'the context holds no tests and no node_modules')

    const stages = buildStages(df, context, work)
    const image = stages.at(-1)
    assert.ok(image?.cmd !== undefined && image.user !== undefined)
    const app = join(image.root, image.workdir)
    assert.deepEqual(readdirSync(image.root), ['app'], 'nothing but WORKDIR /app in the runtime stage')
    assert.deepEqual(readdirSync(app).sort(), ['dist', 'node_modules', 'package.json'])
    assert.deepEqual(readdirSync(join(app, 'dist')), ['src'], 'compiled sources only: no tests, no benchmarks')
    for (const dep of Object.keys(pkg.dependencies)) assert.ok(existsSync(join(app, 'node_modules', dep)), `production dependency ${dep}`)
    for (const dev of Object.keys(pkg.devDependencies)) assert.ok(!existsSync(join(app, 'node_modules', dev)), `no dev dependency ${dev}`)

    // Node at /usr/local/bin as in the base image: this machine's node, linked
    // when uid 1000 can reach it, copied when it lives under a private directory.
    const [uid, gid] = image.user.split(':').map(Number) as [number, number]
    const asRoot = process.getuid?.() === 0
    const bin = join(work, 'usr-local-bin')
    mkdirSync(bin)
    const reachable = spawnSync(process.execPath, ['--version'], { cwd: '/', ...(asRoot ? { uid, gid } : {}) }).status === 0
    if (reachable) symlinkSync(process.execPath, join(bin, 'node'))
    else copyFileSync(process.execPath, join(bin, 'node'))
    chmodSync(join(bin, 'node'), 0o755)
    // The emptyDir at /tmp: the only writable place.
    const tmp = join(work, 'tmp')
    mkdirSync(tmp)
    chmodSync(tmp, 0o1777)
    walk(image.root, (p) => chmodSync(p, lstatSync(p).mode & 0o7555))
    chmodSync(image.root, 0o555)
    chmodSync(work, 0o755)
    if (!asRoot) t.diagnostic('not root: runs as the current user instead of uid 1000')

    const [command, ...args] = image.cmd as [string, ...string[]]
    // A fixed port, as in a container: the HEALTHCHECK reads PORT too.
    const port = String(await freePort())
    const containerEnv = { PATH: `${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: tmp, TMPDIR: tmp, ...image.env, HOST: '127.0.0.1', PORT: port }
    // The HEALTHCHECK as docker runs it: exec form, in the container's environment, as its user.
    const check = (env: Record<string, string> = {}): { status: number | null, signal: string | null } => {
      const [hc, ...hcArgs] = healthcheck().cmd as [string, ...string[]]
      const r = spawnSync(hc, hcArgs, { cwd: app, env: { ...containerEnv, ...env }, encoding: 'utf8', timeout: 20_000, ...(asRoot ? { uid, gid } : {}) })
      return { status: r.status, signal: r.signal }
    }
    child = spawn(command, args, {
      cwd: app,
      env: containerEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(asRoot ? { uid, gid } : {})
    })
    let out = ''
    child.stdout?.on('data', (c: Buffer) => { out += c.toString() })
    child.stderr?.on('data', (c: Buffer) => { out += c.toString() })
    const exit = once(child, 'exit') as Promise<[number | null, string | null]>
    let url: string | undefined
    for (let i = 0; i < 300 && url === undefined && child.exitCode === null; i++) {
      url = /listening on (http:\/\/\S+)/.exec(out)?.[1]
      if (url === undefined) await sleep(50)
    }
    assert.ok(url !== undefined, `the container's command did not start: ${out}`)
    if (asRoot) assert.match(readFileSync(`/proc/${String(child.pid)}/status`, 'utf8'), new RegExp(`^Uid:\\t${uid}\\t`, 'm'), 'runs as the USER of the Dockerfile')
    // It listens at once; ready once the histogram worker has answered.
    await waitFor('/readyz 200', async () => (await request(`${url}/readyz`)).status === 200, 30_000)
    assert.deepEqual(check(), { status: 0, signal: null }, 'healthy while it serves')
    // A listener that accepts and never answers: the check ends itself, unhealthy.
    const silent = net.createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      assert.deepEqual(check({ PORT: String((silent.address() as net.AddressInfo).port) }), { status: 1, signal: null }, 'a stalled answer is unhealthy, within its own timeout')
    } finally {
      silent.close()
    }
    const r = await request(`${url}/?delay=0`)
    assert.equal(r.status, 200)
    assert.equal(r.body, 'OK\n')
    assert.equal((await getJson(`${url}/stats`)).requests, 1, 'the histogram worker thread loaded from the read-only dist too')
    for (const path of ['/dashboard', '/dashboard/app.js', '/dashboard/uplot.js']) {
      assert.equal((await request(url + path)).status, 200, `${path}: the dashboard's compiled code and uPlot are in the image`)
    }
    // The client Job's command runs from the same file set: podmeter load, its result in /tmp.
    const load = spawnSync(command, [args[0] as string, 'load', `${url}/?delay=0`, '-n', '200', '-c', '4', '-q', '-o', join(tmp, 'result.json')], {
      cwd: app,
      env: { PATH: `${bin}:/usr/bin:/bin`, HOME: tmp, TMPDIR: tmp, ...image.env },
      encoding: 'utf8',
      timeout: 60_000,
      ...(asRoot ? { uid, gid } : {})
    })
    assert.equal(load.status, 0, load.stderr)
    assert.equal((JSON.parse(readFileSync(join(tmp, 'result.json'), 'utf8')) as { responses: number }).responses, 200)
    child.kill('SIGTERM')
    const [code, signal] = await exit
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, out)
    assert.deepEqual(check(), { status: 1, signal: null }, 'unhealthy once nothing listens')
  } finally {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    walk(work, (p) => chmodSync(p, lstatSync(p).mode | 0o200))
    rmSync(work, { recursive: true, force: true })
  }
})
