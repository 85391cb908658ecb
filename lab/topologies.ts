// The four topologies of the lab, each a chain of real proxies on loopback
// in front of its own PodMeter, standing in for Istio's data planes:
//
//   direct      client → PodMeter
//   ambient-l4  client → ztunnel ⇒ ztunnel → PodMeter
//   ambient-l7  client → ztunnel ⇒ waypoint ⇒ ztunnel → PodMeter
//   sidecar     client → sidecar ⇒ sidecar → PodMeter
//
// (⇒ is mTLS with the lab's certificates, → plain TCP on loopback.) HAProxy
// in `mode tcp` plays ztunnel: it forwards bytes and adds no HTTP header.
// nginx plays Envoy: as a waypoint it adds what Istio's waypoint adds
// (x-request-id, x-forwarded-proto, x-envoy-attempt-count, no XFCC); as a
// client-side sidecar the same; as a server-side sidecar it terminates mTLS
// and adds x-forwarded-client-cert. One worker each, HTTP/1.1 with
// keep-alive upstream.
//
// Each PodMeter also gets the pod facts Istio would give its pod, written by
// the lab: Downward API annotations and a /proc/net/tcp listing of the ports
// Istio opens in the pod. Headers are real (made by the proxies); those facts
// are stand-ins.

import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CLIENT_ID, SERVER_ID, SERVER_NAME, type Certs } from './certs.js'
import { findBinary, freePort, nginxPreamble, type Managed, type Processes } from './processes.js'

export type TopologyName = 'direct' | 'ambient-l4' | 'ambient-l7' | 'sidecar'
export type HopKind = 'ztunnel-client' | 'ztunnel-server' | 'waypoint' | 'sidecar-client' | 'sidecar-server' | 'l4-proxy'

export interface Expectation {
  mode: string
  /** Per request: X-Forwarded-For/Via hops, and Envoy hops from Envoy's markers. */
  proxyHops: number
  meshHops: number
  /** Every request carries Envoy-made headers. */
  envoyMade: boolean
}

export interface Topology {
  name: TopologyName
  /** Front to back. */
  hops: HopKind[]
  pod: { annotations: string[], listening: number[] }
  expect: Expectation
}

const SIDECAR_STATUS = JSON.stringify(JSON.stringify({ initContainers: ['istio-init'], containers: ['istio-proxy'], revision: 'default' }))

export const TOPOLOGIES: Topology[] = [
  { name: 'direct', hops: [], pod: { annotations: [], listening: [] }, expect: { mode: 'none', proxyHops: 0, meshHops: 0, envoyMade: false } },
  {
    name: 'ambient-l4',
    hops: ['ztunnel-client', 'ztunnel-server'],
    pod: { annotations: ['ambient.istio.io/redirection="enabled"'], listening: [15001, 15006, 15008] },
    expect: { mode: 'ambient-l4', proxyHops: 0, meshHops: 0, envoyMade: false }
  },
  {
    name: 'ambient-l7',
    hops: ['ztunnel-client', 'waypoint', 'ztunnel-server'],
    pod: { annotations: ['ambient.istio.io/redirection="enabled"'], listening: [15001, 15006, 15008] },
    expect: { mode: 'ambient-l7', proxyHops: 0, meshHops: 1, envoyMade: true }
  },
  {
    name: 'sidecar',
    hops: ['sidecar-client', 'sidecar-server'],
    pod: { annotations: [`sidecar.istio.io/status=${SIDECAR_STATUS}`], listening: [15000, 15001, 15004, 15006, 15020, 15021, 15090] },
    expect: { mode: 'sidecar', proxyHops: 0, meshHops: 2, envoyMade: true }
  }
]

/** The part each hop plays, and what plays it, for the report. */
export const HOP_LABEL: Record<HopKind, string> = {
  'ztunnel-client': 'ztunnel (HAProxy tcp)',
  'ztunnel-server': 'ztunnel (HAProxy tcp)',
  waypoint: 'waypoint (nginx)',
  'sidecar-client': 'sidecar (nginx)',
  'sidecar-server': 'sidecar (nginx)',
  // The L4 part's one plain TCP hop (l4.ts).
  'l4-proxy': 'HAProxy tcp'
}

const TLS_IN: Record<HopKind, boolean> = { 'ztunnel-client': false, 'ztunnel-server': true, waypoint: true, 'sidecar-client': false, 'sidecar-server': true, 'l4-proxy': false }
const TLS_OUT: Record<HopKind, boolean> = { 'ztunnel-client': true, 'ztunnel-server': false, waypoint: true, 'sidecar-client': true, 'sidecar-server': false, 'l4-proxy': false }

// Istio's proxy headers: Envoy keeps an incoming x-request-id and makes one otherwise.
const ENVOY_HEADERS = ['x-request-id $envoy_request_id', 'x-forwarded-proto http', 'x-envoy-attempt-count 1']
const HEADERS: Record<HopKind, string[]> = {
  'ztunnel-client': [],
  'ztunnel-server': [],
  waypoint: ENVOY_HEADERS,
  'sidecar-client': ENVOY_HEADERS,
  // Envoy's Hash is the SHA-256 of the client certificate; nginx only has its SHA-1.
  'sidecar-server': [`x-forwarded-client-cert 'By=${SERVER_ID};Hash=$ssl_client_fingerprint;Subject="";URI=${CLIENT_ID}'`],
  'l4-proxy': []
}

/** `client → sidecar (nginx) ⇒ sidecar (nginx) → PodMeter`: ⇒ is mTLS. */
export function pathOf (hops: readonly HopKind[], end = 'PodMeter'): string {
  let path = 'client'
  for (const kind of hops) path += ` ${TLS_IN[kind] ? '⇒' : '→'} ${HOP_LABEL[kind]}`
  return `${path} → ${end}`
}

export function nginxConfig (kind: HopKind, dir: string, port: number, next: number, certs: Certs): string {
  const tlsIn = TLS_IN[kind]
  const tlsOut = TLS_OUT[kind]
  return `
${nginxPreamble(dir, 1024)}
  upstream next { server 127.0.0.1:${next}; keepalive 64; }
  server {
    listen 127.0.0.1:${port}${tlsIn ? ' ssl' : ''};
${tlsIn
    ? `    ssl_certificate ${certs.server.crt};
    ssl_certificate_key ${certs.server.key};
    ssl_client_certificate ${certs.ca};
    ssl_verify_client on;
`
    : ''}    location / {
      proxy_pass ${tlsOut ? 'https' : 'http'}://next;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
${tlsOut
    ? `      proxy_ssl_certificate ${certs.client.crt};
      proxy_ssl_certificate_key ${certs.client.key};
      proxy_ssl_trusted_certificate ${certs.ca};
      proxy_ssl_verify on;
      proxy_ssl_name ${SERVER_NAME};
      proxy_ssl_server_name on;
      proxy_ssl_session_reuse on;
`
    : ''}${HEADERS[kind].map((h) => `      proxy_set_header ${h};\n`).join('')}    }
  }
}
`
}

export function haproxyConfig (kind: HopKind, port: number, next: number, certs: Certs): string {
  const bind = TLS_IN[kind] ? ` ssl crt ${certs.server.pem} ca-file ${certs.ca} verify required` : ''
  const server = TLS_OUT[kind] ? ` ssl crt ${certs.client.pem} ca-file ${certs.ca} verify required sni str(${SERVER_NAME}) verifyhost ${SERVER_NAME}` : ''
  return `
global
  maxconn 4096
  nbthread 1
defaults
  mode tcp
  timeout connect 5s
  timeout client 120s
  timeout server 120s
frontend in
  bind 127.0.0.1:${port}${bind}
  default_backend out
backend out
  server next 127.0.0.1:${next}${server}
`
}

export interface Hop { kind: HopKind, port: number, process: Managed }

/** Starts one hop in front of 127.0.0.1:`next`; a port taken before the proxy bound it is tried again. */
export async function startHop (procs: Processes, kind: HopKind, next: number, certs: Certs, base: string, topology: string): Promise<Hop> {
  const nginx = kind === 'waypoint' || kind.startsWith('sidecar')
  for (let attempt = 1; ; attempt++) {
    const dir = join(base, `${topology}-${kind}-${attempt}`)
    await mkdir(dir, { recursive: true })
    const port = await freePort()
    let m: Managed
    if (nginx) {
      await writeFile(join(dir, 'nginx.conf'), nginxConfig(kind, dir, port, next, certs))
      m = procs.spawn(`${topology} ${kind} (nginx)`, findBinary('nginx'), ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'], { cwd: dir })
    } else {
      await writeFile(join(dir, 'haproxy.cfg'), haproxyConfig(kind, port, next, certs))
      m = procs.spawn(`${topology} ${kind} (haproxy)`, findBinary('haproxy'), ['-db', '-f', join(dir, 'haproxy.cfg')], { cwd: dir })
    }
    try {
      await procs.waitListening(m, port)
      return { kind, port, process: m }
    } catch (err) {
      m.child.kill('SIGKILL')
      if (attempt === 3) throw err
    }
  }
}

/** A /proc/net/tcp listing with these ports listening on 0.0.0.0. */
export function procNetTcp (ports: readonly number[]): string {
  const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode'
  const lines = ports.map((p, i) => `   ${i}: 00000000:${p.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1337        0 ${70000 + i} 1 0000000000000000 100 0 0 10 0`)
  return [header, ...lines, ''].join('\n')
}

export interface RunningTopology {
  topology: Topology
  /** Where clients connect: the first hop, or PodMeter itself. */
  url: string
  /** PodMeter directly, bypassing the proxies (the lab's own reads). */
  podmeter: string
  hops: Hop[]
  processes: Managed[]
}

/** Starts a topology's PodMeter, then its hops from back to front. */
export async function startTopology (procs: Processes, t: Topology, certs: Certs, base: string, cli: string): Promise<RunningTopology> {
  const pod = join(base, `${t.name}-pod`)
  await mkdir(join(pod, 'podinfo'), { recursive: true })
  await writeFile(join(pod, 'podinfo/labels'), `app="podmeter"\nlab.podmeter/topology="${t.name}"\n`)
  await writeFile(join(pod, 'podinfo/annotations'), t.pod.annotations.map((a) => a + '\n').join(''))
  await writeFile(join(pod, 'tcp'), procNetTcp(t.pod.listening))
  await writeFile(join(pod, 'tcp6'), procNetTcp([]))
  const pm = procs.spawn(`${t.name} podmeter`, process.execPath, [cli, 'serve',
    '--host', '127.0.0.1', '--port', '0', '--delay-ms', '0', '--envoy-admin', 'off', '--mesh-refresh-ms', '500',
    '--podinfo-dir', join(pod, 'podinfo'), '--proc-net-tcp', `${join(pod, 'tcp')},${join(pod, 'tcp6')}`
  ])
  const url = (await procs.waitOutput(pm, /listening on (http:\/\/\S+)/))[1] as string
  const hops: Hop[] = []
  let next = Number(new URL(url).port)
  for (const kind of [...t.hops].reverse()) {
    const hop = await startHop(procs, kind, next, certs, base, t.name)
    hops.unshift(hop)
    next = hop.port
  }
  return { topology: t, url: `http://127.0.0.1:${next}`, podmeter: url, hops, processes: [pm, ...hops.map((h) => h.process)] }
}
