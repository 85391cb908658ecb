// Real proxies in front of PodMeter for the tests: Debian's nginx and HAProxy,
// started as this process's children with configs in a temp directory,
// listening on 127.0.0.1 only, in the foreground, and killed at the end.
//
// Kinds:
//   plain          what a reverse proxy usually adds: nginx X-Forwarded-For,
//                  HAProxy X-Forwarded-For (as a new line) and Via
//   envoy-pair     one nginx adding what a pair of Istio sidecars adds: x-request-id,
//                  x-forwarded-proto, x-envoy-attempt-count (client side) and
//                  x-forwarded-client-cert (server side, mTLS); no X-Forwarded-For,
//                  as Istio's sidecars leave it alone
//   envoy-client   HAProxy as the client-side sidecar: x-request-id,
//                  x-forwarded-proto, x-envoy-attempt-count
//   envoy-server   nginx as the server-side sidecar: x-forwarded-client-cert
// and startHaproxyTcp, HAProxy in `mode tcp` for the TCP echo.
//
// delayProxy is a plain TCP hop of known delay, to put behind a real proxy.

import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findBinary, nginxPreamble } from '../../lab/processes.js'
import { freePort, sleep } from './helpers.js'

export type ProxyKind = 'plain' | 'envoy-pair' | 'envoy-client' | 'envoy-server'

export interface Proxy { name: string, url: string, address: string, stop: () => Promise<void> }

const XFCC = 'By=spiffe://cluster.local/ns/bench/sa/podmeter;Hash=4f1e7c2d9a0b3e6f8c5d2a1b0e9f7c6d5a4b3e2f1d0c9b8a7f6e5d4c3b2a1f0e;Subject="";URI=spiffe://cluster.local/ns/bench/sa/client'

// The same lookup as the lab's, so that both fail with what to install.
export { findBinary }

function nginxConfig (dir: string, port: number, upstream: string, kind: ProxyKind): string {
  const headers: Record<ProxyKind, string[]> = {
    plain: ['X-Forwarded-For $proxy_add_x_forwarded_for'],
    'envoy-pair': ['x-request-id $envoy_request_id', 'x-forwarded-proto $scheme', 'x-envoy-attempt-count 1', `x-forwarded-client-cert '${XFCC}'`],
    'envoy-client': [],
    'envoy-server': [`x-forwarded-client-cert '${XFCC}'`]
  }
  return `
${nginxPreamble(dir, 128)}
  upstream app { server ${upstream}; keepalive 16; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
${headers[kind].map((h) => `      proxy_set_header ${h};`).join('\n')}
    }
  }
}
`
}

function haproxyConfig (port: number, upstream: string, kind: ProxyKind): string {
  const rules: Record<ProxyKind, string[]> = {
    plain: ['option forwardfor', 'http-request add-header Via "1.1 haproxy"'],
    'envoy-client': [
      'http-request set-header x-request-id %[uuid] unless { req.hdr(x-request-id) -m found }',
      'http-request set-header x-forwarded-proto http',
      'http-request set-header x-envoy-attempt-count 1'
    ],
    'envoy-pair': [],
    'envoy-server': []
  }
  return `
global
  maxconn 256
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend in
  bind 127.0.0.1:${port}
${rules[kind].map((r) => `  ${r}`).join('\n')}
  default_backend app
backend app
  server app ${upstream}
`
}

async function waitListening (port: number, child: ChildProcess, name: string, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited before listening: ${output()}`)
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
      s.on('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`${name} did not listen on ${port} within 10 s: ${output()}`)
    await sleep(20)
  }
}

type Args = (dir: string, port: number) => string[]
type Config = (dir: string, port: number) => string

// The port is chosen free a moment before the proxy binds it; another
// process may take it in between, so a failed start is tried again.
async function start (name: string, bin: string, args: Args, config: Config, file: string): Promise<Proxy> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(name, bin, args, config, file)
    } catch (err) {
      if (attempt === 3 || !/in use/i.test((err as Error).message)) throw err
    }
  }
}

async function startOnce (name: string, bin: string, args: Args, config: Config, file: string): Promise<Proxy> {
  const dir = mkdtempSync(join(tmpdir(), `podmeter-${name}-`))
  const port = await freePort()
  writeFileSync(join(dir, file), config(dir, port))
  const child = spawn(bin, args(dir, port), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout?.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr?.on('data', (c: Buffer) => { out += c.toString() })
  const exited = once(child, 'exit')
  const output = (): string => {
    let log = ''
    try { log = readFileSync(join(dir, 'error.log'), 'utf8') } catch {}
    return `${out}${log}`.trim() || '(no output)'
  }
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(killer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await waitListening(port, child, name, output)
  } catch (err) {
    await stop()
    throw err
  }
  return { name, url: `http://127.0.0.1:${port}`, address: `127.0.0.1:${port}`, stop }
}

/** nginx in the foreground (`-g 'daemon off;'`) in front of `upstream` (host:port). */
export async function startNginx (upstream: string, kind: ProxyKind): Promise<Proxy> {
  const bin = findBinary('nginx')
  return await start(`nginx-${kind}`, bin,
    (dir) => ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'],
    (dir, port) => nginxConfig(dir, port, upstream, kind), 'nginx.conf')
}

/** HAProxy in the foreground (`-db`) in front of `upstream` (host:port). */
export async function startHaproxy (upstream: string, kind: ProxyKind): Promise<Proxy> {
  const bin = findBinary('haproxy')
  return await start(`haproxy-${kind}`, bin,
    (dir) => ['-db', '-f', join(dir, 'haproxy.cfg')],
    (_dir, port) => haproxyConfig(port, upstream, kind), 'haproxy.cfg')
}

/** HAProxy in `mode tcp` (ztunnel's part: bytes forwarded, nothing added) in front of `upstream` (host:port). */
export async function startHaproxyTcp (upstream: string): Promise<Proxy> {
  const bin = findBinary('haproxy')
  return await start('haproxy-tcp', bin,
    (dir) => ['-db', '-f', join(dir, 'haproxy.cfg')],
    (_dir, port) => `
global
  maxconn 256
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend in
  bind 127.0.0.1:${port}
  default_backend echo
backend echo
  server echo ${upstream}
`, 'haproxy.cfg')
}

/** Proxies started front to back: the first one is where clients connect; the last forwards to `upstream`. */
export async function startChain (upstream: string, hops: Array<['nginx' | 'haproxy', ProxyKind]>): Promise<Proxy[]> {
  const chain: Proxy[] = []
  let next = upstream
  try {
    for (const [server, kind] of [...hops].reverse()) {
      const p = server === 'nginx' ? await startNginx(next, kind) : await startHaproxy(next, kind)
      chain.unshift(p)
      next = p.address
    }
  } catch (err) {
    await Promise.all(chain.map(async (p) => await p.stop()))
    throw err
  }
  return chain
}

export interface Hop { port: number, close: () => Promise<void> }

/** A TCP proxy to 127.0.0.1:`target` that holds every chunk from the client for `delayMs` (never less) before passing it on. */
export async function delayProxy (target: number, delayMs: number): Promise<Hop> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1')
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => { sockets.delete(s); client.destroy(); upstream.destroy() })
    }
    client.on('data', (chunk: Buffer) => {
      if (delayMs === 0) { upstream.write(chunk); return }
      // Node's timers run on the event loop's cached ms clock and may fire up
      // to a millisecond early: wait out the rest turn by turn.
      const due = performance.now() + delayMs
      const send = (): void => {
        if (performance.now() < due) { setImmediate(send); return }
        if (!upstream.destroyed) upstream.write(chunk)
      }
      setTimeout(send, delayMs)
    })
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}
