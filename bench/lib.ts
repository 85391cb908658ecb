// Shared pieces of the benchmarks: pinned child processes, wrk runs, a
// keep-alive probe client, and medians with their spread.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import http from 'node:http'
import { once } from 'node:events'
import { readdirSync, readFileSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { median, quantile } from '../src/shared/sample-stats.js'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const SERVER_CPU = process.env.BENCH_SERVER_CPU ?? '0'
export const CLIENT_CPU = process.env.BENCH_CLIENT_CPU ?? '1'
/** The node that runs the servers (PodMeter and the bare ones): BENCH_NODE, or this one. */
export const NODE = process.env.BENCH_NODE ?? process.execPath

export function have (command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0
}

/**
 * Moves this process, every thread of it, to CLIENT_CPU: its probes and
 * pollers are clients too, and must not take the server's CPU.
 */
export function pinToClientCpu (): void {
  spawnSync('taskset', ['-a', '-p', '-c', CLIENT_CPU, String(process.pid)], { stdio: 'ignore' })
}

export interface Proc { child: ChildProcess, port: number, stop: () => Promise<void> }

/** Starts a server pinned to SERVER_CPU and waits for it to print its port. */
export async function startPinned (args: string[], env: Record<string, string> = {}): Promise<Proc> {
  const child = spawn('taskset', ['-c', SERVER_CPU, NODE, ...args], {
    cwd: ROOT,
    // A benchmark's server stops at once: no Kubernetes drain delay.
    env: { ...process.env, SHUTDOWN_DELAY_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let out = ''
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const m = /(?:listening|:)\s*(\d{2,5})\b/.exec(out)
      if (m !== null) resolve(Number(m[1]))
    })
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${String(code)}: ${out}`)))
  })
  return {
    child,
    port,
    stop: async () => {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  }
}

export const podmeterArgs = (port: number, extra: string[] = []): string[] =>
  ['dist/src/cli/main.js', 'serve', '--host', '127.0.0.1', '--port', String(port), ...extra]

export const bareArgs = (port: number): string[] => ['dist/bench/bare-server.js', String(port)]

export interface WrkResult { rps: number, p50ms: number, p99ms: number, requests: number, errors: number }

function toMs (text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text)
  if (m === null) return Number.NaN
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1)
}

/**
 * One wrk run pinned to CLIENT_CPU; `headers` are `Name: value` lines sent
 * with every request; `pipeline` > 1 writes that many requests at a time on
 * each connection (bench/pipeline.lua), as a proxy multiplexing clients does.
 */
export async function wrk (url: string, seconds: number, connections = 50, headers: string[] = [], pipeline = 1): Promise<WrkResult> {
  const script = pipeline > 1 ? ['-s', join(ROOT, 'bench', 'pipeline.lua')] : []
  const args = ['-c', CLIENT_CPU, 'wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...script, ...headers.flatMap((h) => ['-H', h]), url, ...(pipeline > 1 ? ['--', String(pipeline)] : [])]
  const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  await once(child, 'exit')
  const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? Number.NaN)
  const errors = [...out.matchAll(/(?:connect|read|write|timeout) (\d+)/g)].reduce((a, m) => a + Number(m[1]), 0) + num(/Non-2xx or 3xx responses: (\d+)/) || 0
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    p50ms: toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? ''),
    p99ms: toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? ''),
    requests: num(/(\d+) requests in/),
    errors
  }
}

/** Runs a command pinned to CLIENT_CPU and returns its stdout. */
export async function pinnedClient (command: string, args: string[]): Promise<string> {
  const child = spawn('taskset', ['-c', CLIENT_CPU, command, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  const [code] = await once(child, 'exit')
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${String(code)}: ${out}`)
  return out
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })

/** One GET over a kept-alive connection; resolves with the body and the client-side ms. */
export async function timedGet (url: string): Promise<{ ms: number, status: number, body: string }> {
  const t0 = performance.now()
  return await new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0, body }))
    }).on('error', reject)
  })
}

/**
 * A lean keep-alive client on one raw socket: writes a GET, reads the response
 * by its Content-Length. It measures the server, not an HTTP client library:
 * node's own http client adds about 0.2 ms a request here.
 */
export class RawClient {
  readonly #socket: net.Socket
  #buffer: Buffer = Buffer.alloc(0)
  #waiting: ((b: Buffer) => void) | undefined

  private constructor (socket: net.Socket) {
    this.#socket = socket
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk])
      this.#waiting?.(this.#buffer)
    })
  }

  static async connect (port: number): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1')
    await once(socket, 'connect')
    return new RawClient(socket)
  }

  /** Milliseconds from writing the request to the last byte of the response. */
  async get (path: string): Promise<{ ms: number, body: string }> {
    const t0 = performance.now()
    this.#socket.write(`GET ${path} HTTP/1.1\r\nHost: bench\r\n\r\n`)
    return await new Promise((resolve) => {
      const check = (b: Buffer): void => {
        const end = b.indexOf('\r\n\r\n')
        if (end < 0) return
        const length = Number(/content-length: (\d+)/i.exec(b.subarray(0, end).toString('latin1'))?.[1] ?? 0)
        if (b.length < end + 4 + length) return
        this.#waiting = undefined
        this.#buffer = b.subarray(end + 4 + length)
        resolve({ ms: performance.now() - t0, body: b.subarray(end + 4, end + 4 + length).toString() })
      }
      this.#waiting = check
      check(this.#buffer)
    })
  }

  close (): void {
    this.#socket.destroy()
  }
}

/**
 * Nanoseconds on CPU of every thread of `pid` and of its descendants, from
 * /proc/<pid>/task/<tid>/schedstat: unlike a rate, it does not change when
 * other work shares the machine, only how long the same work takes.
 */
export function cpuNs (pid: number | undefined): number {
  let ns = 0
  let tasks: string[] = []
  try { tasks = readdirSync(`/proc/${String(pid)}/task`) } catch { return 0 }
  for (const t of tasks) {
    try {
      ns += Number(readFileSync(`/proc/${String(pid)}/task/${t}/schedstat`, 'utf8').split(' ')[0])
      for (const child of readFileSync(`/proc/${String(pid)}/task/${t}/children`, 'utf8').split(' ').filter(Boolean)) ns += cpuNs(Number(child))
    } catch {}
  }
  return ns
}

/** RSS of a process in MiB, from /proc. */
export function rssMiB (pid: number | undefined): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'))
  return Number(m?.[1] ?? Number.NaN) / 1024
}

/** The value of an unlabelled sample in a Prometheus text exposition, NaN when absent. */
export function metricValue (text: string, name: string): number {
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN)
}

export async function getText (url: string): Promise<string> {
  return (await timedGet(url)).body
}

export async function getJson (url: string): Promise<Record<string, unknown>> {
  return JSON.parse(await getText(url)) as Record<string, unknown>
}

export { median, quantile }

/** "median (min–max)" */
export function spread (values: number[], digits = 2): string {
  if (values.length === 0) return 'n/a'
  return `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`
}

export const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
