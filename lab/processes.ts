// The lab's child processes: proxies and PodMeters started in the
// foreground, each tracked from spawn to exit, and stopped together (SIGTERM,
// then SIGKILL after a grace period) on success, failure or Ctrl-C.

import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { accessSync, constants } from 'node:fs'
import net, { type AddressInfo } from 'node:net'
import { delimiter, join } from 'node:path'

const STOP_GRACE_MS = 5000
const READY_TIMEOUT_MS = 15_000

/** The path of a Debian-packaged binary (nginx and haproxy live in sbin); a clear error when it is missing. */
export function findBinary (name: string, debianPackage = name): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin']
  for (const dir of dirs) {
    if (dir === '') continue
    try { accessSync(join(dir, name), constants.X_OK); return join(dir, name) } catch {}
  }
  throw new Error(`${name} is not installed, and this test drives a real ${name}: apt-get install ${debianPackage} (.ci/run installs it)`)
}

/** A TCP port on 127.0.0.1 that was free a moment ago, for servers that cannot listen on port 0. */
export async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

async function accepts (port: number): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
    s.on('error', () => resolve(false))
  })
}

/**
 * The start of an nginx configuration that runs in the foreground as one
 * process with every file under `dir`, opening an `http` block whose
 * `$envoy_request_id` keeps an incoming x-request-id and makes one otherwise,
 * as Envoy does. The caller adds its upstreams and servers and closes the block.
 */
export function nginxPreamble (dir: string, workerConnections: number): string {
  return `worker_processes 1;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections ${workerConnections}; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_x_request_id $envoy_request_id { "" $request_id; default $http_x_request_id; }`
}

export interface Managed {
  name: string
  child: ChildProcess
  pid: number
  /** stdout and stderr so far. */
  output: () => string
  exited: Promise<number | null>
}

export class Processes {
  readonly #running = new Set<Managed>()
  #stopping = false

  /** Spawns `bin args`; its output is kept (and echoed with `echo`). */
  spawn (name: string, bin: string, args: string[], options: { cwd?: string, env?: NodeJS.ProcessEnv, echo?: NodeJS.WritableStream } = {}): Managed {
    // A start racing a Ctrl-C must not leave a process behind.
    if (this.#stopping) throw new Error(`${name}: not started, the lab is stopping`)
    const child = spawn(bin, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    return this.adopt(name, child, bin, options.echo)
  }

  /** Tracks a child spawned elsewhere (the lab's Prometheus), so that stopAll stops it too. */
  adopt (name: string, child: ChildProcess, bin = name, echo?: NodeJS.WritableStream): Managed {
    if (this.#stopping) {
      child.kill('SIGKILL')
      throw new Error(`${name}: stopped, the lab is stopping`)
    }
    const options = { echo }
    let out = ''
    const keep = (c: Buffer): void => {
      if (out.length < 1_000_000) out += c.toString()
      options.echo?.write(c)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    const failed = once(child, 'error').then(([err]) => { throw new Error(`${name}: cannot start ${bin}: ${(err as Error).message}`) })
    const exited = Promise.race([once(child, 'exit').then(([code]) => code as number | null), failed])
    const managed: Managed = { name, child, pid: child.pid ?? -1, output: () => out, exited }
    this.#running.add(managed)
    exited.catch(() => {}).finally(() => this.#running.delete(managed))
    return managed
  }

  /** Resolves once `port` accepts connections; fails if the process exits first. */
  async waitListening (m: Managed, port: number): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS
    for (;;) {
      if (m.child.exitCode !== null || m.child.signalCode !== null) throw new Error(`${m.name} exited before listening on ${port}: ${m.output().trim() || '(no output)'}`)
      if (await accepts(port)) return
      if (Date.now() > deadline) throw new Error(`${m.name} did not listen on ${port} within ${READY_TIMEOUT_MS / 1000} s: ${m.output().trim() || '(no output)'}`)
      await sleep(20)
    }
  }

  /** Resolves with the first match of `pattern` in the process's output. */
  async waitOutput (m: Managed, pattern: RegExp): Promise<RegExpExecArray> {
    const deadline = Date.now() + READY_TIMEOUT_MS
    for (;;) {
      const match = pattern.exec(m.output())
      if (match !== null) return match
      if (m.child.exitCode !== null || m.child.signalCode !== null) throw new Error(`${m.name} exited: ${m.output().trim() || '(no output)'}`)
      if (Date.now() > deadline) throw new Error(`${m.name} printed no ${String(pattern)} within ${READY_TIMEOUT_MS / 1000} s: ${m.output().trim()}`)
      await sleep(20)
    }
  }

  get running (): Managed[] {
    return [...this.#running]
  }

  /** SIGTERM to every process still running, SIGKILL to those still there after the grace period. */
  async stopAll (): Promise<void> {
    this.#stopping = true
    const all = this.running
    for (const m of all) m.child.kill('SIGTERM')
    const killer = setTimeout(() => { for (const m of this.running) m.child.kill('SIGKILL') }, STOP_GRACE_MS)
    await Promise.allSettled(all.map(async (m) => await m.exited))
    clearTimeout(killer)
  }
}
