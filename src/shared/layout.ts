// The one SharedArrayBuffer that the main thread and the histogram worker share.
// Both threads import this file; nothing else knows an offset.
//
//   header    Int32    magic, version and the sizes the buffer was made for
//   then, for each HTTP shard (HTTP_THREADS; one by default):
//   counters  Uint32   64-bit counters as (low, high) pairs, see inc() below:
//                      request counters by the shard's thread, sample counters
//                      by the worker (in shard 0's block only)
//   ring      Uint32   write and read sequence numbers, then the latency slots
//   and once:
//   journal   Float64  the sample being recorded: its ring sequence and the counts it
//                      sets (see src/worker/journal.ts), so that a replacement finishes
//                      it instead of recording it twice or losing it
//   hist      Float64  exact min, max, sum and count of the samples: lifetime, then
//                      each slice's (with the second it holds),
//                      then the HDR counts arrays: cumulative and window as
//                      Float64, one Uint32 array per one-second slice
//
// The histogram counts live here rather than in the worker's heap so that a
// replacement worker (piscina starts one when the owner dies) picks up every
// sample already recorded: a dying worker loses nothing it had recorded.
//
// A shard is one thread serving HTTP: it writes only its own counters and
// ring, so nothing on the hot path is shared between threads. The worker
// drains every shard's ring into the one set of histograms, and a figure is
// the sum of the shards' counters (readCounter). Each shard's Views (shard())
// are the buffer's with the counters and ring of that shard.
//
// One buffer serves one listener. With a baseline listener (BASELINE_PORT)
// the server makes a second buffer of this same layout: its own counters, ring
// and histograms, so both listeners run the same hot path on their own memory
// and nothing per request asks which listener it is. WORKER_STARTS is counted
// in the main listener's buffer only. The TCP echo (TCP_ECHO_PORT) has a buffer
// of this layout too: REQUESTS counts its echoed messages, ERRORS its
// connections that failed, and ECHO_* are its own.

import { countsArrayLength } from './counts-length.js'

export const MAGIC = 0x504d5452 // 'PMTR'
export const LAYOUT_VERSION = 7

/** Counter numbers (see inc/add/read). Counters are 64-bit: a busy pod passes 2^32 in a day. */
export const C = {
  REQUESTS: 0, // measured requests that ended (finished or aborted)
  ERRORS: 1, // measured requests not ending in 2xx/3xx, aborted ones included
  ABORTED: 2, // client went away before the response finished
  ENVOY_MADE: 3, // requests with Envoy-made headers (x-request-id with x-envoy-* or XFCC): read by the mesh detector
  TRACED: 4, // requests with tracing headers (x-b3-*, b3, traceparent): reported, not hops
  // Response bytes cost the plain path nothing: its answers send their
  // status's default body, so those bytes are a sum over STATUS
  // (src/main/status-bodies.ts). Every other answer adds what it sent to
  // BYTES_OUT and, after its STATUS, its status's default length here,
  // which that sum takes back.
  DEFAULT_BYTES_UNSENT: 5,
  // 6..7: the TCP echo's own buffer only (src/main/tcp-echo.ts); spare in the HTTP listeners'
  ECHO_PAUSES: 6, // reads paused because a connection's write queue was full (its peer reads slower than it sends)
  ECHO_IDLE_CLOSED: 7, // connections closed after TCP_ECHO_IDLE_TIMEOUT_MS of silence
  VIA_PROXY: 8, // requests that crossed at least one proxy or mesh hop
  PROXY_HOPS: 9, // sum of X-Forwarded-For / Via hops
  MESH_HOPS: 10, // sum of Envoy hops (mesh markers)
  HOPS_BY_COUNT: 11, // 11..15: requests with 0, 1, 2, 3, 4+ total hops
  UNMEASURED: 16, // probes, /stats, /metrics and the like
  SAMPLES_DROPPED: 17, // ring was full: sample not recorded (request still counted)
  MAIN_THREAD_END: 18, // counters below this are written by the shard's HTTP thread; 18..23 by the histogram worker
  SAMPLES_CLAMPED: 18, // written by the worker: sample outside the histogram range
  // 19: spare (was a count of samples recorded; `samples` is the histogram's exact count)
  WORKER_STARTS: 20, // written by each histogram worker as it attaches
  STATUS: 24, // 24..423: by status code, 200..599 (the only codes a measured request gets); the main thread's
  // Each shard's connections, by the thread that accepted them (connection-guard.ts):
  CONNECTIONS_OPENED: 424, // accepted and let in; open now = opened − closed, summed over the shards
  CONNECTIONS_CLOSED: 425, // of those, closed since
  CONNECTIONS_REJECTED: 426, // closed at once: MAX_CONNECTIONS were open
  REFUSED: 427, // 427..431: requests refused before a handler saw them, by REFUSED_STATUS
  // Bytes of measured requests, by the shard's thread: the body as read and
  // as answered (HTTP), or every byte echoed (the TCP echo's own buffer)
  BYTES_IN: 432,
  BYTES_OUT: 433
} as const
export const STATUS_MIN = 200
export const STATUS_MAX = 599
/** The statuses of C.REFUSED's counters, in order. */
export const REFUSED_STATUS = [400, 405, 408, 417, 431] as const
export const COUNTER_COUNT = C.BYTES_OUT + 1
export const HOP_BUCKETS = 5

/** Indexes into `histMeta` (Float64), written by the worker only. */
export const M = { MIN: 0, MAX: 1, SUM: 2, COUNT: 3, STAMP: 4 } as const
const META_COUNT = 8
/** Float64 slots of the journal (src/worker/journal.ts). */
export const JOURNAL_LENGTH = 8

export interface LayoutConfig {
  /** Ring slots; a power of two. */
  ringCapacity: number
  /** Histogram range in microseconds and significant digits. */
  lowestUs: number
  highestUs: number
  digits: number
  /** Seconds in the "current" window; the worker keeps one slice per second plus the one being filled. */
  windowSeconds: number
  /** HTTP shards, each with its own counters and ring; 1 when absent. */
  shards?: number
}

/** One shard's own memory. */
export interface ShardViews {
  readonly counters: Uint32Array
  readonly ringIndex: Uint32Array
  readonly ringSlots: Uint32Array
}

export interface Views {
  readonly sab: SharedArrayBuffer
  readonly config: LayoutConfig
  readonly header: Int32Array
  /** This shard's number (0 for the buffer's own Views). */
  readonly shard: number
  /** Every shard's counters and ring, shard 0 first. */
  readonly shards: readonly ShardViews[]
  /** This shard's counters (shard 0's hold the worker's sample counters too). */
  readonly counters: Uint32Array
  /** [0] write sequence, [16] read sequence: 64 bytes apart so the two threads do not share a cache line. */
  readonly ringIndex: Uint32Array
  readonly ringSlots: Uint32Array
  /** The sample being recorded (src/worker/journal.ts), written by the worker only. */
  readonly journal: Float64Array
  readonly histMeta: Float64Array
  /** Per slice, M.* figures of its samples and M.STAMP, the second it holds (-1 when empty). */
  readonly sliceMeta: Float64Array[]
  readonly cumulativeCounts: Float64Array
  readonly windowCounts: Float64Array
  readonly sliceCounts: Uint32Array[]
}

export const RING_WRITE = 0
export const RING_READ = 16
/**
 * A reset's fence (ring.ts): the write sequence when the shard's counters
 * were zeroed, and how many resets its thread has made, both by the
 * producer; how many the worker has carried out, by the consumer (on the
 * read sequence's cache line). While one is pending, no drain passes the
 * fence, so a sample from after the reset is never wiped with those before.
 */
export const RING_FENCE = 1
export const RING_RESETS = 2
export const RING_RESETS_DONE = 17

const H = { MAGIC: 0, VERSION: 1, RING: 2, COUNTS_LEN: 3, SLICES: 4, BYTES: 5, SHARDS: 6 } as const

const shardCount = (config: LayoutConfig): number => config.shards ?? 1

export function countsLength (config: LayoutConfig): number {
  return countsArrayLength(config.lowestUs, config.highestUs, config.digits)
}

const align = (size: number): number => Math.ceil(size / 64) * 64 // cache-line aligned, and 8-aligned for the 64-bit views

function plan (config: LayoutConfig): { shardAt: number[], offsets: number[], countsLen: number, slices: number, bytes: number } {
  const countsLen = countsLength(config)
  const slices = config.windowSeconds + 1
  let at = align(16 * 4) // header
  const shardAt: number[] = []
  for (let s = 0; s < shardCount(config); s++) {
    shardAt.push(at)
    at += align(COUNTER_COUNT * 8) + align(32 * 4) + align(config.ringCapacity * 4) // counters, ring index, ring slots
  }
  const sizes = [
    JOURNAL_LENGTH * 8, // journal
    META_COUNT * 8, // hist meta
    slices * META_COUNT * 8, // slice meta
    countsLen * 8, // cumulative
    countsLen * 8, // window
    slices * countsLen * 4 // slices
  ]
  const offsets: number[] = []
  for (const size of sizes) {
    offsets.push(at)
    at += align(size)
  }
  return { shardAt, offsets, countsLen, slices, bytes: at }
}

function shardViews (sab: SharedArrayBuffer, config: LayoutConfig, at: number): ShardViews {
  const ringAt = at + align(COUNTER_COUNT * 8)
  return {
    counters: new Uint32Array(sab, at, COUNTER_COUNT * 2),
    ringIndex: new Uint32Array(sab, ringAt, 32),
    ringSlots: new Uint32Array(sab, ringAt + align(32 * 4), config.ringCapacity)
  }
}

function views (sab: SharedArrayBuffer, config: LayoutConfig): Views {
  const { shardAt, offsets: o, countsLen, slices } = plan(config)
  const at = (i: number): number => o[i] as number
  const sliceCounts: Uint32Array[] = []
  for (let s = 0; s < slices; s++) sliceCounts.push(new Uint32Array(sab, at(5) + s * countsLen * 4, countsLen))
  const shards = shardAt.map((a) => shardViews(sab, config, a))
  return {
    sab,
    config,
    header: new Int32Array(sab, 0, 16),
    shard: 0,
    shards,
    ...(shards[0] as ShardViews),
    journal: new Float64Array(sab, at(0), JOURNAL_LENGTH),
    histMeta: new Float64Array(sab, at(1), META_COUNT),
    sliceMeta: Array.from({ length: slices }, (_, s) => new Float64Array(sab, at(2) + s * META_COUNT * 8, META_COUNT)),
    cumulativeCounts: new Float64Array(sab, at(3), countsLen),
    windowCounts: new Float64Array(sab, at(4), countsLen),
    sliceCounts
  }
}

/** The Views of shard `s`: its own counters and ring, the buffer's histograms and journal. */
export function shard (v: Views, s: number): Views {
  const own = v.shards[s]
  if (own === undefined) throw new RangeError(`no shard ${s} (the buffer has ${v.shards.length})`)
  return { ...v, shard: s, ...own }
}

/** Makes and initialises the shared buffer (main thread, once). */
export function create (config: LayoutConfig): Views {
  const { countsLen, slices, bytes } = plan(config)
  const v = views(new SharedArrayBuffer(bytes), config)
  v.header[H.VERSION] = LAYOUT_VERSION
  v.header[H.RING] = config.ringCapacity
  v.header[H.COUNTS_LEN] = countsLen
  v.header[H.SLICES] = slices
  v.header[H.BYTES] = bytes
  v.header[H.SHARDS] = shardCount(config)
  v.journal.fill(-1)
  resetMeta(v.histMeta)
  for (const m of v.sliceMeta) resetMeta(m)
  // Written last, so a reader that sees the magic sees a complete header.
  Atomics.store(v.header, H.MAGIC, MAGIC)
  return v
}

/** Typed views on a buffer made by create() with the same config; throws if they disagree. */
export function attach (sab: SharedArrayBuffer, config: LayoutConfig): Views {
  const { countsLen, slices, bytes } = plan(config)
  const h = new Int32Array(sab, 0, 16)
  if (Atomics.load(h, H.MAGIC) !== MAGIC) throw new Error('shared buffer: bad magic number')
  if (h[H.VERSION] !== LAYOUT_VERSION) throw new Error(`shared buffer: layout version ${String(h[H.VERSION])}, expected ${LAYOUT_VERSION}`)
  if (sab.byteLength !== bytes || h[H.RING] !== config.ringCapacity || h[H.COUNTS_LEN] !== countsLen || h[H.SLICES] !== slices || h[H.BYTES] !== bytes || h[H.SHARDS] !== shardCount(config)) {
    throw new Error('shared buffer: made for another configuration')
  }
  return views(sab, config)
}

export function resetMeta (meta: Float64Array): void {
  meta.fill(0)
  meta[M.MIN] = Number.POSITIVE_INFINITY
  meta[M.STAMP] = -1
}

// 64-bit counters as two Uint32 halves. Atomics.add on a Uint32Array compiles
// to one locked add; on a BigInt64Array it cost about 3 % of throughput on the
// hot path here. Each counter has one writing thread; the carry into the high
// half follows the low half's wrap (once per 2^32 adds), and read() retries if
// the high half moved while it read.

/** Adds one to counter `i`. */
export function inc (c: Uint32Array, i: number): void {
  if (Atomics.add(c, i * 2, 1) === 0xffffffff) Atomics.add(c, i * 2 + 1, 1)
}

/** Adds `n` (0 ≤ n < 2^32) to counter `i`. */
export function add (c: Uint32Array, i: number, n: number): void {
  if (Atomics.add(c, i * 2, n) + n > 0xffffffff) Atomics.add(c, i * 2 + 1, 1)
}

export function read (c: Uint32Array, i: number): number {
  for (;;) {
    const high = Atomics.load(c, i * 2 + 1)
    const low = Atomics.load(c, i * 2)
    if (Atomics.load(c, i * 2 + 1) === high) return high * 2 ** 32 + low
  }
}

/** Sets counter `i` to `value` (0 ≤ value < 2^53): for its one writer only. */
export function set (c: Uint32Array, i: number, value: number): void {
  Atomics.store(c, i * 2 + 1, Math.floor(value / 2 ** 32))
  Atomics.store(c, i * 2, value % 2 ** 32)
}

export function zero (c: Uint32Array, i: number): void {
  Atomics.store(c, i * 2, 0)
  Atomics.store(c, i * 2 + 1, 0)
}

/** Counter `index` summed over every shard. */
export function readCounter (v: Views, index: number): number {
  let n = 0
  for (const s of v.shards) n += read(s.counters, index)
  return n
}

/**
 * Zeroes every counter a shard's thread writes (request and connection
 * counters, not the worker's sample counters, nor the opened and closed
 * connections whose difference is a level). For that thread only: a reset
 * is carried out by each shard on its own counters (ring.ts, fence()).
 */
export function zeroShardCounters (c: Uint32Array): void {
  for (let i = 0; i < C.MAIN_THREAD_END; i++) zero(c, i)
  for (let i = C.STATUS; i < C.CONNECTIONS_OPENED; i++) zero(c, i)
  for (let i = C.CONNECTIONS_REJECTED; i < COUNTER_COUNT; i++) zero(c, i)
}

/** Measured requests that ended with status code `code` (200..599). */
export function readStatus (v: Views, code: number): number {
  return readCounter(v, C.STATUS + code - STATUS_MIN)
}

/**
 * Measured requests by status class: `first` is 200, 300, 400 or 500. With
 * one shard the caller is the thread that writes these counters: plain loads
 * of its own writes cannot tear, and a class is 100 counters. Other shards'
 * are read as read() does.
 */
export function readStatusClass (v: Views, first: number): number {
  let n = 0
  const last = Math.min(first + 99, STATUS_MAX)
  if (v.shards.length > 1) {
    for (let code = Math.max(first, STATUS_MIN); code <= last; code++) n += readStatus(v, code)
    return n
  }
  const c = v.counters
  for (let code = Math.max(first, STATUS_MIN); code <= last; code++) {
    const i = (C.STATUS + code - STATUS_MIN) * 2
    n += (c[i + 1] as number) * 2 ** 32 + (c[i] as number)
  }
  return n
}
