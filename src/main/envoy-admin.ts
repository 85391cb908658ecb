// The sidecar's Envoy admin endpoint (127.0.0.1:15000 in an Istio pod):
// one GET /memory, with a short timeout and a bounded body. An answer in
// Envoy's shape is both evidence of a sidecar (mesh detection rule 3) and the
// sidecar's memory figures. Once it answers, one GET /server_info gives the
// Envoy and Istio versions and the proxy's concurrency (envoy-server-info.ts).
// Called from the mesh detector's timer only.

import http from 'node:http'
import { type EnvoyServerInfo, parseServerInfo } from './envoy-server-info.js'

/** How long a probe may take before the admin counts as unreachable, in ms. */
export const ENVOY_ADMIN_TIMEOUT_MS = 500
const MAX_BODY = 64 * 1024
// An Istio sidecar's /server_info carries its node metadata (labels,
// annotations, the proxy config): tens of kB; 256 KiB leaves room.
const MAX_SERVER_INFO = 256 * 1024

/** Envoy's /memory figures, in bytes (tcmalloc's view of the Envoy process). */
export interface EnvoyMemory {
  /** Bytes the application has allocated and not freed. */
  allocated: number
  /** Bytes the allocator holds from the OS (allocated plus free lists). */
  heapSize: number
  /** Bytes of physical memory the allocator uses, when this Envoy reports it. */
  physical: number | undefined
}

export type AdminProbe = { reachable: true, memory: EnvoyMemory } | { reachable: false, reason: string }

/** `host:port` or `[v6]:port` into its parts; undefined when it is neither. */
export function parseAddress (address: string): { host: string, port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([\w.-]+)):(\d{1,5})$/.exec(address)
  if (m === null) return undefined
  const port = Number(m[3])
  return port >= 1 && port <= 65535 ? { host: (m[1] ?? m[2]) as string, port } : undefined
}

// Envoy prints uint64 fields as JSON strings ("allocated": "7065960").
function bytes (value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value
  if (typeof value === 'string' && /^\d{1,16}$/.test(value)) return Number(value)
  return undefined
}

/** Parses a /memory body; undefined when it is not Envoy's. */
export function parseMemory (body: string): EnvoyMemory | undefined {
  let json: unknown
  try { json = JSON.parse(body) } catch { return undefined }
  if (json === null || typeof json !== 'object') return undefined
  const o = json as Record<string, unknown>
  const allocated = bytes(o.allocated)
  const heapSize = bytes(o.heap_size)
  if (allocated === undefined || heapSize === undefined) return undefined
  return { allocated, heapSize, physical: bytes(o.total_physical_bytes) }
}

export async function probeEnvoyAdmin (address: string, timeoutMs = ENVOY_ADMIN_TIMEOUT_MS): Promise<AdminProbe> {
  const got = await adminGet(address, '/memory', MAX_BODY, timeoutMs)
  if (!got.ok) return { reachable: false, reason: got.reason }
  const memory = parseMemory(got.body)
  return memory === undefined ? { reachable: false, reason: 'GET /memory did not answer as Envoy does' } : { reachable: true, memory }
}

/** Envoy's /server_info, parsed (envoy-server-info.ts); undefined with the reason when it cannot be read. */
export async function readServerInfo (address: string, timeoutMs = ENVOY_ADMIN_TIMEOUT_MS): Promise<{ info: EnvoyServerInfo } | { info: undefined, reason: string }> {
  const got = await adminGet(address, '/server_info', MAX_SERVER_INFO, timeoutMs)
  if (!got.ok) return { info: undefined, reason: got.reason }
  const info = parseServerInfo(got.body)
  return info === undefined ? { info, reason: 'GET /server_info did not answer as Envoy does' } : { info }
}

/** One GET of the admin with a timeout and a bounded body: the body of a 200, or why not. */
async function adminGet (address: string, path: string, maxBody: number, timeoutMs: number): Promise<{ ok: true, body: string } | { ok: false, reason: string }> {
  const target = parseAddress(address)
  if (target === undefined) return { ok: false, reason: `${address} is not host:port` }
  return await new Promise((resolve) => {
    let settled = false
    const done = (got: { ok: true, body: string } | { ok: false, reason: string }): void => {
      if (settled) return
      settled = true
      resolve(got)
    }
    const req = http.get({
      host: target.host,
      port: target.port,
      path,
      agent: false,
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs)
    }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
        if (body.length > maxBody) {
          done({ ok: false, reason: `GET ${path} answered more than ${maxBody} bytes` })
          req.destroy()
        }
      })
      res.on('end', () => {
        if (res.statusCode !== 200) return done({ ok: false, reason: `GET ${path} answered ${String(res.statusCode)}` })
        done({ ok: true, body })
      })
      // Cut off mid-body (timeout, reset): whatever came is not an answer.
      res.on('close', () => done({ ok: false, reason: res.complete ? 'closed' : `no answer within ${timeoutMs} ms` }))
      res.on('error', () => {})
    })
    req.on('error', (err: NodeJS.ErrnoException) => {
      done({ ok: false, reason: err.name === 'AbortError' ? `no answer within ${timeoutMs} ms` : err.code ?? err.message })
    })
  })
}
