// Shared test helpers: real servers on port 0, real HTTP clients, real child processes.

import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { DEFAULTS, type ServerConfig } from '../../src/shared/config.js'
import { serve, type Running } from '../../src/main/serve.js'

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))

/**
 * A directory of its own under the system temp dir, removed with all it
 * holds when the test file's tests end (a root-level `after`: call it at the
 * top of a file). Returns the path of a file in it; nothing is created
 * until a test writes there, and nothing is left behind.
 */
export function tempFiles (name: string): (file: string) => string {
  const dir = mkdtempSync(join(tmpdir(), `podmeter-${name}-`))
  after(() => rmSync(dir, { recursive: true, force: true }))
  return (file: string) => join(dir, file)
}

/**
 * A PodMeter in this process on 127.0.0.1 and a free port. Call shutdown() when done.
 * Mesh detection sees the fixture pod `none` and probes no Envoy admin unless
 * told otherwise, so that the machine running the tests does not leak in;
 * for the same reason one HTTP thread unless a test asks for more (the
 * default, auto, follows the machine's CPU quota: http-threads.test.ts tests
 * it on cgroup trees of its own).
 */
export async function startServer (overrides: Partial<ServerConfig> = {}): Promise<Running> {
  const running = await serve({ ...DEFAULTS, host: '127.0.0.1', port: 0, ...fixturePod('none'), envoyAdmin: 'off', httpThreads: 1, ...overrides })
  await running.ready
  return running
}

export interface Reply { status: number, headers: http.IncomingHttpHeaders, body: string }

const agent = new http.Agent({ keepAlive: true, maxSockets: 200 })

export async function request (url: string, options: http.RequestOptions = {}, body?: string): Promise<Reply> {
  return await new Promise((resolve, reject) => {
    const req = http.request(url, { agent, ...options }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { text += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

export async function getJson<T = Record<string, any>> (url: string, options: http.RequestOptions = {}): Promise<T> {
  const r = await request(url, options)
  return JSON.parse(r.body) as T
}

/**
 * Sends `total` GETs to `url` with `concurrency` in flight, over kept-alive
 * connections. Resolves with the count of each status code.
 */
/** `total` requests over `concurrency` connections (fewer if `stop` is aborted first); counts by status. */
export async function load (url: string, total: number, concurrency: number, options: http.RequestOptions = {}, stop?: AbortSignal): Promise<Map<number, number>> {
  const counts = new Map<number, number>()
  const local = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  let started = 0
  async function lane (): Promise<void> {
    while (started < total && stop?.aborted !== true) {
      started++
      const r = await request(url, { agent: local, ...options })
      counts.set(r.status, (counts.get(r.status) ?? 0) + 1)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane))
  local.destroy()
  return counts
}

export interface Child { child: ChildProcess, url: string, output: () => string, exit: Promise<number | null> }

/** Runs the compiled CLI as a child process and waits until it listens and, unless `ready` is false, until /readyz says 200. */
export async function startCli (args: string[] = [], env: Record<string, string> = {}, ready = true): Promise<Child> {
  const child = spawn(process.execPath, [CLI, ...args, '--host', '127.0.0.1', '--port', '0'], {
    cwd: ROOT,
    // No Kubernetes drain delay on SIGTERM unless a test asks for one (a flag wins).
    env: { ...process.env, SHUTDOWN_DELAY_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr.on('data', (c: Buffer) => { out += c.toString() })
  const exit = once(child, 'exit').then(([code]) => code as number | null)
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (): void => {
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m !== null) { child.stdout.off('data', onData); resolve(m[1] as string) }
    }
    child.stdout.on('data', onData)
    exit.then((code) => reject(new Error(`podmeter exited with ${String(code)}: ${out}`)))
  })
  if (ready) await waitFor('/readyz 200', async () => (await request(`${url}/readyz`)).status === 200 || child.exitCode !== null, 30_000)
  return { child, url, output: () => out, exit }
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runCli (args: string[], env: Record<string, string> = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const [code] = await once(child, 'exit')
  return { code: code as number | null, stdout, stderr }
}

export const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** The exact q-quantile by HDR's rule: the smallest value with at least ceil(q·n) values at or below it. */
export function exactQuantile (sorted: readonly number[], q: number): number {
  const rank = Math.max(1, Math.ceil(Number((q * sorted.length).toPrecision(12))))
  return sorted[rank - 1] as number
}

/** Polls `check` every 20 ms until it returns true; fails with `what` after `timeoutMs`. */
export async function waitFor (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
}

export interface FakeEnvoyAdmin {
  address: string
  /** Requests for `path` so far (default /memory). */
  hits: (path?: string) => number
  close: () => Promise<void>
}

/** A real Istio 1.24 sidecar's /server_info, shortened (test/fixtures/envoy). */
export const ENVOY_SERVER_INFO = readFileSync(join(ROOT, 'test/fixtures/envoy/server_info-istio-1.24.json'), 'utf8')

/**
 * A real listener standing in for Envoy admin: GET /memory answers as Envoy
 * does (uint64 fields as strings, `server: envoy`), GET /server_info with
 * `serverInfo` (an Istio sidecar's by default; null answers 404), anything
 * else 404.
 */
export async function startFakeEnvoyAdmin (memory: Record<string, string> = {
  allocated: '7065960', heap_size: '10485760', pageheap_unmapped: '0', pageheap_free: '0', total_thread_cache: '1591360', total_physical_bytes: '12582912'
}, port = 0, serverInfo: string | null = ENVOY_SERVER_INFO): Promise<FakeEnvoyAdmin> {
  const hits = new Map<string, number>()
  const server = http.createServer((req, res) => {
    const path = req.url ?? ''
    hits.set(path, (hits.get(path) ?? 0) + 1)
    const body = path === '/memory' ? JSON.stringify(memory, null, 1) : path === '/server_info' ? serverInfo : null
    if (body === null) { res.writeHead(404, { server: 'envoy' }); res.end('invalid path\n'); return }
    res.writeHead(200, { 'content-type': 'application/json', server: 'envoy' })
    res.end(body)
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    address,
    hits: (path = '/memory') => hits.get(path) ?? 0,
    close: async () => { server.closeAllConnections(); await new Promise<void>((resolve) => server.close(() => resolve())) }
  }
}

/**
 * Writes Downward API files the way the kubelet does (its AtomicWriter): the
 * files go to a fresh `..<timestamp>` directory, a `..data_tmp` symlink to it
 * is renamed over `..data`, and each visible name is a symlink into `..data`.
 * A reader never sees a half-written file; a watcher sees the rename.
 */
export function writePodInfo (dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true })
  const stamp = `..${new Date().toISOString().replace(/[-:.]/g, '_')}.${process.hrtime.bigint()}`
  mkdirSync(join(dir, stamp))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, stamp, name), text)
  const previous = existsSync(join(dir, '..data')) ? readlinkSync(join(dir, '..data')) : undefined
  symlinkSync(stamp, join(dir, '..data_tmp'))
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'))
  for (const name of Object.keys(files)) if (!existsSync(join(dir, name))) symlinkSync(join('..data', name), join(dir, name))
  if (previous !== undefined) rmSync(join(dir, previous), { recursive: true, force: true })
}

/** A fixture pod's directory: test/fixtures/pods/<name>/{podinfo,net/tcp,net/tcp6}. */
export function fixturePod (name: string): { podinfoDir: string, procNetTcp: string } {
  const dir = join(ROOT, 'test/fixtures/pods', name)
  return { podinfoDir: join(dir, 'podinfo'), procNetTcp: `${join(dir, 'net/tcp')},${join(dir, 'net/tcp6')}` }
}

/** An Istio traffic fixture (test/fixtures/istio-headers) as rawHeaders: name, value, name, value, … */
export function istioHeaders (name: string): string[] {
  const fixture = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/istio-headers', `${name}.json`), 'utf8')) as { headers: Array<[string, string]> }
  return fixture.headers.flat()
}

/** Runs a program with `input` on stdin; resolves with its exit code and output. */
export async function runTool (command: string, args: string[], input = ''): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const exited = once(child, 'exit')
  const failed = once(child, 'error').then(([err]) => { throw err instanceof Error ? err : new Error(String(err)) })
  child.stdin.end(input)
  const [code] = await Promise.race([exited, failed])
  return { code: code as number | null, stdout, stderr }
}

export { freePort } from '../../lab/processes.js'

export interface RawResponse { status: number, headers: Record<string, string>, body: string }
export interface Exchange { responses: RawResponse[], closed: boolean, raw: Buffer }

/**
 * Sends bytes (or runs `send` on the socket) over one raw TCP connection and
 * reads HTTP/1.1 responses back, for what an HTTP client would refuse to
 * send. Resolves once `responses` responses have arrived (or, with `close`,
 * once the server has also closed the connection); rejects if that does not
 * happen within `waitMs`. `head` responses carry no body.
 */
export async function rawExchange (port: number, send: string | Buffer | ((socket: net.Socket) => Promise<void>), options: { responses?: number, close?: boolean, head?: boolean, waitMs?: number } = {}): Promise<Exchange> {
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  const want = options.responses ?? 1
  let raw = Buffer.alloc(0)
  let closed = false
  let responses: RawResponse[] = []
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${responses.length} of ${want} responses${options.close === true ? ' and no close' : ''} within ${options.waitMs ?? 5000} ms: ${JSON.stringify(raw.toString('latin1').slice(0, 500))}`)), options.waitMs ?? 5000)
    const check = (): void => {
      responses = parseResponses(raw, options.head === true, closed)
      if (responses.length >= want && (options.close !== true || closed)) { clearTimeout(timer); resolve() }
    }
    socket.on('data', (chunk: Buffer) => { raw = Buffer.concat([raw, chunk]); check() })
    socket.on('error', () => {})
    socket.on('close', () => { closed = true; check(); if (!(responses.length >= want)) { clearTimeout(timer); resolve() } })
  })
  if (typeof send === 'function') await send(socket)
  else socket.write(send)
  await done
  const result = { responses, closed, raw }
  socket.destroy()
  return result
}

function parseResponses (raw: Buffer, head: boolean, ended: boolean): RawResponse[] {
  const out: RawResponse[] = []
  let at = 0
  for (;;) {
    const end = raw.indexOf('\r\n\r\n', at)
    if (end < 0) return out
    const [statusLine = '', ...lines] = raw.subarray(at, end).toString('latin1').split('\r\n')
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? Number.NaN)
    const headers: Record<string, string> = {}
    for (const line of lines) {
      const colon = line.indexOf(':')
      const name = line.slice(0, colon).toLowerCase()
      const value = line.slice(colon + 1).trim()
      headers[name] = headers[name] === undefined ? value : `${headers[name] as string}, ${value}`
    }
    const length = status < 200 || status === 204 || status === 304 || head ? 0 : Number(headers['content-length'] ?? Number.NaN)
    const bodyEnd = Number.isNaN(length) ? (ended ? raw.length : Number.POSITIVE_INFINITY) : end + 4 + length
    if (bodyEnd > raw.length) return out
    out.push({ status, headers, body: raw.subarray(end + 4, bodyEnd).toString('utf8') })
    at = bodyEnd
  }
}

/** Values a hostile client puts in a query: junk bytes, numbers JavaScript reads oddly, long lists. */
export const hostileValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('1e309', '-1e309', 'NaN', '-1', '-0', 'Infinity', '0x10', '1_000', '٣', '１２', '9'.repeat(400), '.', '', ',', ':', '%', '%00', '%E0%A4%A', '\u0000', '1ms:', ':5', '1:2:3', '200:100,300:0.000001'),
  // the longest numbers the grammars take, where a unit can push them past 2^53
  fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 15n - 1n }), fc.nat(999_999_999), fc.constantFrom('', 'us', 'ms', 's', 'm'))
    .map(([whole, frac, unit]) => `${whole}.${frac}${unit}`),
  fc.array(fc.oneof(fc.double().map(String), fc.integer().map(String), fc.string({ maxLength: 6 })), { maxLength: 400 }).map((a) => a.join(',')),
  fc.array(fc.tuple(fc.oneof(fc.double().map(String), fc.constantFrom('1ms', '250us', '503', 'x')), fc.oneof(fc.double().map(String), fc.nat(200).map(String))), { maxLength: 100 })
    .map((a) => a.map(([v, w]) => `${v}:${w}`).join(','))
)
