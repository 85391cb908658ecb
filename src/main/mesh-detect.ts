// Mesh detection in the background. An unref'd timer re-reads every source
// each `refreshMs` (the Downward API files, /proc/net/tcp*, the Envoy admin
// probe, which is also the sidecar's memory and, once, its /server_info, and
// the header counters); a watch on the Downward API directory re-reads the
// files as soon as the kubelet swaps them (istio-cni annotates an ambient pod
// after it started).
// /stats reads the last decision: nothing here runs per request.
//
// The header rule reads two shared counters that the hot path already
// increments (measured requests, requests with Envoy-made headers) and
// compares their growth over the last period that had requests.

import { watch, type FSWatcher } from 'node:fs'
import { open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { C, readCounter, type Views } from '../shared/layout.js'
import { probeEnvoyAdmin, readServerInfo } from './envoy-admin.js'
import {
  decideMode, listeningPort, parseDownwardApi,
  type AdminFacts, type HeaderFacts, type Listeners, type MeshView, type PodInfo
} from './mesh-facts.js'

export interface MeshDetectOptions {
  /** The Downward API volume holding `labels` and `annotations`. */
  podinfoDir: string
  /** /proc/net/tcp and /proc/net/tcp6, or snapshots of them. */
  procNetTcp: readonly string[]
  /** host:port of Envoy admin; undefined never probes. */
  envoyAdmin: string | undefined
  /** Period of the background refresh, in ms. */
  refreshMs: number
  /** The shared counters: measured requests and Envoy-made ones. */
  views: Views
}

// After a change event, wait this long for the kubelet's symlink swap to settle.
const WATCH_SETTLE_MS = 20

async function readText (path: string): Promise<string | undefined> {
  try { return await readFile(path, 'utf8') } catch { return undefined }
}

export async function readPodInfo (dir: string): Promise<PodInfo> {
  const [labels, annotations] = await Promise.all([readText(join(dir, 'labels')), readText(join(dir, 'annotations'))])
  return {
    dir,
    found: labels !== undefined || annotations !== undefined,
    labels: parseDownwardApi(labels ?? ''),
    annotations: parseDownwardApi(annotations ?? '')
  }
}

const TCP_CHUNK = 16 * 1024
const TCP_MAX_BYTES = 1024 * 1024

/**
 * Adds the listening ports of one /proc/net/tcp* file to `into`; resolves
 * with the bytes read, or undefined when the file cannot be read.
 *
 * The file lists every socket of the network namespace, tens of thousands
 * under load (TIME_WAIT included), and parsing all of it would block the
 * event loop for milliseconds. The kernel prints the listening table first
 * (tcp_seq_start: listening_get_idx, then established_get_idx), so reading
 * stops at the first socket that is not in it, and at TCP_MAX_BYTES anyway.
 */
export async function readListeningPorts (path: string, into: Set<number>): Promise<number | undefined> {
  let file
  try { file = await open(path, 'r') } catch { return undefined }
  try {
    const buf = Buffer.allocUnsafe(TCP_CHUNK)
    let bytes = 0
    let carry = ''
    let header = true
    for (;;) {
      const { bytesRead } = await file.read(buf, 0, TCP_CHUNK, null)
      bytes += bytesRead
      const lines = (carry + buf.toString('latin1', 0, bytesRead)).split('\n')
      carry = bytesRead === 0 ? '' : lines.pop() as string
      for (const line of lines) {
        if (header) { header = false; continue }
        if (line.trim() === '') continue
        const port = listeningPort(line)
        if (port === undefined) return bytes
        if (port >= 0) into.add(port)
      }
      if (bytesRead === 0 || bytes >= TCP_MAX_BYTES) return bytes
    }
  } catch {
    return undefined
  } finally {
    await file.close()
  }
}

export async function readListeners (files: readonly string[]): Promise<Listeners> {
  const ports = new Set<number>()
  const read = await Promise.all(files.map(async (f) => await readListeningPorts(f, ports)))
  return { files, read: read.some((b) => b !== undefined), ports }
}

export class MeshDetector {
  readonly #o: MeshDetectOptions
  #podinfo: PodInfo
  #listeners: Listeners
  #admin: AdminFacts
  #headers: HeaderFacts | undefined
  #view: MeshView
  #last: { requests: number, envoyMade: number, at: number }
  #timer: NodeJS.Timeout | undefined
  #watcher: FSWatcher | undefined
  #settle: NodeJS.Timeout | undefined
  #refreshing: Promise<void> | undefined
  #closed = false

  constructor (options: MeshDetectOptions) {
    this.#o = options
    this.#podinfo = { dir: options.podinfoDir, found: false, labels: new Map(), annotations: new Map() }
    this.#listeners = { files: options.procNetTcp, read: false, ports: new Set() }
    this.#admin = { address: options.envoyAdmin, reachable: false, reason: 'not probed yet', memory: undefined, serverInfo: undefined }
    this.#last = { requests: this.#requests(), envoyMade: this.#envoyMade(), at: performance.now() }
    this.#view = this.#decide()
  }

  /** The last decision; cheap, for /stats. */
  get view (): MeshView {
    return this.#view
  }

  /** Reads every source once, then keeps them fresh in the background. */
  async start (): Promise<void> {
    await this.refresh()
    // Each source's reader turns its own failures into "unknown"; a refresh never rejects.
    this.#timer = setInterval(() => { this.refresh().catch(() => {}) }, this.#o.refreshMs)
    this.#timer.unref()
  }

  /** Re-reads every source; at most one refresh at a time. */
  async refresh (): Promise<void> {
    this.#refreshing ??= this.#refreshAll().finally(() => { this.#refreshing = undefined })
    await this.#refreshing
  }

  async #refreshAll (): Promise<void> {
    const [podinfo, listeners, admin] = await Promise.all([
      readPodInfo(this.#o.podinfoDir),
      readListeners(this.#o.procNetTcp),
      this.#probeAdmin()
    ])
    if (this.#closed) return
    this.#podinfo = podinfo
    this.#listeners = listeners
    this.#admin = admin
    this.#sampleHeaders()
    this.#view = this.#decide()
    this.#ensureWatch()
  }

  // /server_info does not change while the Envoy lives: it is read when the
  // admin first answers, and again only after the admin went away (a new
  // Envoy may be another release) or when the last read failed.
  async #probeAdmin (): Promise<AdminFacts> {
    const address = this.#o.envoyAdmin
    if (address === undefined) return { address, reachable: false, reason: 'off', memory: undefined, serverInfo: undefined }
    const probe = await probeEnvoyAdmin(address)
    if (!probe.reachable) return { address, reachable: false, reason: probe.reason, memory: undefined, serverInfo: undefined }
    const known = this.#admin.reachable ? this.#admin.serverInfo : undefined
    const serverInfo = known ?? (await readServerInfo(address)).info
    return { address, reachable: true, reason: '', memory: probe.memory, serverInfo }
  }

  #requests (): number { return readCounter(this.#o.views, C.REQUESTS) }
  #envoyMade (): number { return readCounter(this.#o.views, C.ENVOY_MADE) }

  /** /stats/reset zeroed the counters: the next sample counts from zero. */
  countersReset (): void {
    this.#last = { requests: 0, envoyMade: 0, at: this.#last.at }
  }

  // Growth of the two counters since the last sample. A period without
  // requests keeps the previous verdict: an idle pod does not change mode.
  // A counter going back is a reset not announced by countersReset().
  #sampleHeaders (): void {
    const now = { requests: this.#requests(), envoyMade: this.#envoyMade(), at: performance.now() }
    const reset = now.requests < this.#last.requests || now.envoyMade < this.#last.envoyMade
    const requests = reset ? now.requests : now.requests - this.#last.requests
    const envoyMade = reset ? now.envoyMade : now.envoyMade - this.#last.envoyMade
    if (requests > 0) this.#headers = { requests, envoyMade, seconds: Math.round((now.at - this.#last.at) / 100) / 10 }
    this.#last = now
  }

  #decide (): MeshView {
    return decideMode({ podinfo: this.#podinfo, listeners: this.#listeners, admin: this.#admin, headers: this.#headers })
  }

  // The directory may appear after start (or never: then the timer alone
  // polls). fs.watch can fail or go quiet on some filesystems; the timer
  // still re-reads every period, so the watch only makes changes show sooner.
  #ensureWatch (): void {
    if (this.#watcher !== undefined || this.#closed || !this.#podinfo.found) return
    try {
      this.#watcher = watch(this.#o.podinfoDir, { persistent: false }, () => this.#changed())
      this.#watcher.on('error', () => { this.#watcher?.close(); this.#watcher = undefined })
    } catch {
      this.#watcher = undefined
    }
  }

  #changed (): void {
    if (this.#settle !== undefined || this.#closed) return
    this.#settle = setTimeout(() => {
      this.#settle = undefined
      readPodInfo(this.#o.podinfoDir).then((podinfo) => {
        if (this.#closed) return
        this.#podinfo = podinfo
        this.#view = this.#decide()
      }, () => {})
    }, WATCH_SETTLE_MS)
    this.#settle.unref()
  }

  close (): void {
    this.#closed = true
    clearInterval(this.#timer)
    clearTimeout(this.#settle)
    this.#watcher?.close()
    this.#watcher = undefined
  }
}
