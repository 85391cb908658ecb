// Server settings: each one an environment variable and an equal
// `podmeter serve` flag (src/cli/serve.ts reads the flags with the CLI's one
// grammar; flags win over the environment). Each entry documents its default
// and unit where it is defined. An invalid value stops start-up with a
// ConfigError naming the setting and what it accepts.

import { ConfigError } from './errors.js'
import { formatDuration, parseDurationUs } from './duration.js'
import { formatSize, parseSize } from './size.js'

export interface ServerConfig {
  /** PORT: TCP port of the measured server. Default 8080. */
  port: number
  /** HOST: address to listen on. Default 0.0.0.0 (all IPv4 interfaces, as in a pod). */
  host: string
  /** DELAY_MS: simulated work of `GET /` in ms (fractions allowed, or 250us / 1.5s). Default 20, as the original. */
  delayUs: number
  /** MAX_DELAY_MS: largest `delay` a request may ask for, in ms. Default 10000. */
  maxDelayUs: number
  /**
   * MAX_SIZE: the largest body `/` sends or takes, in bytes (0..1 GiB): a
   * `size=` payload, and a POST or PUT body that is echoed. Larger `size=`
   * is refused with 400, a larger body with 413. Default 1 MiB (1048576):
   * four times Fortio's 256 KiB, so every `size=` a Fortio server answers is
   * answered here too, and the 1 MiB payloads of mesh benchmarks fit. It
   * costs no memory until asked for: the payload bytes are made once, on
   * the first `size=` that needs them (payload.ts), and an echo streams.
   */
  maxSize: number
  /** WINDOW_SECONDS: the "current" window of requests_per_second and window.*, in seconds (1..120). Default 10. */
  windowSeconds: number
  /** RING_CAPACITY: latency slots between the threads, a power of two. Default 262144 (1 MiB; about 4 s at 60k req/s). */
  ringCapacity: number
  /** HISTOGRAM_MIN_US / HISTOGRAM_MAX_US: histogram range in µs. Defaults 1 and 60000000 (60 s). Outside it, samples are clamped and counted. */
  lowestUs: number
  highestUs: number
  /** HISTOGRAM_DIGITS: significant decimal digits kept (1..5). Default 3: every value within 0.1 %. */
  digits: number
  /** DRAIN_INTERVAL_MS: how often the worker empties the ring, in ms. Default 50. */
  drainIntervalMs: number
  /** STATS_TIMEOUT_MS: how long /stats waits for the worker before answering 503, in ms. Default 2000. */
  statsTimeoutMs: number
  /**
   * SHUTDOWN_GRACE_MS: on SIGTERM, the whole time from the signal to exit, in ms;
   * whatever is still open then is cut. Default 20000: SHUTDOWN_DELAY_MS (5 s)
   * plus a request of MAX_DELAY_MS (10 s) started just before the listener
   * closes, with 10 s to spare before Kubernetes' SIGKILL at 30 s.
   */
  shutdownGraceMs: number
  /**
   * SHUTDOWN_DELAY_MS: on SIGTERM, how long to keep accepting and answering
   * (every answer with Connection: close, /readyz 503) before the listener
   * closes, while Kubernetes takes the pod out of its endpoints and the
   * sidecar drains, in ms. Less than SHUTDOWN_GRACE_MS. Default 5000 (Istio's
   * terminationDrainDuration). SIGINT (Ctrl-C) skips it.
   */
  shutdownDelayMs: number
  /**
   * KEEP_ALIVE_TIMEOUT_MS: idle keep-alive connections close after this, in ms.
   * Default 3660000 (61 min): above Envoy's upstream idle timeout (1 h, also
   * Istio's DestinationRule default), so the sidecar or waypoint always closes
   * an idle connection first and never sends a request on one we are closing.
   */
  keepAliveTimeoutMs: number
  /** PODINFO_DIR: the Downward API volume with the pod's `labels` and `annotations` files (mesh detection; re-read when they change). Default /etc/podinfo. */
  podinfoDir: string
  /** PROC_NET_TCP: the files listing the pod's TCP sockets, comma-separated (mesh detection; tests point them at snapshots). Default /proc/net/tcp,/proc/net/tcp6. */
  procNetTcp: string
  /** ENVOY_ADMIN: host:port of the sidecar's Envoy admin, probed in the background (mesh detection and sidecar memory); `off` never probes. Default 127.0.0.1:15000. */
  envoyAdmin: string
  /** MESH_REFRESH_MS: how often mesh detection re-reads its sources and the sidecar's memory, in ms (100..600000). Default 5000. */
  meshRefreshMs: number
  /** CGROUP_ROOT: where the cgroup filesystem is mounted, for the container's memory (tests point it at fixtures). Default /sys/fs/cgroup. */
  cgroupRoot: string
  /** PROC_SELF: this process's /proc entry, whose `cgroup` file and `ns/cgroup` link tell whether it runs in a container (tests point it at fixtures). Default /proc/self. */
  procSelf: string
  /**
   * HEADERS_TIMEOUT_MS: a request's headers must arrive within this, counted
   * from its first byte, or it gets 408 (a slowloris holds a connection no
   * longer), in ms. Default 10000. Node checks every min(1 s, a tenth of it).
   */
  headersTimeoutMs: number
  /** REQUEST_TIMEOUT_MS: the whole request, body included, must arrive within this, or 408, in ms; at least HEADERS_TIMEOUT_MS. Default 30000. */
  requestTimeoutMs: number
  /**
   * MAX_CONNECTIONS: open connections at most; one more is closed as soon as
   * it is accepted, and counted (connections_rejected). Default 10000: an open
   * connection costs 11 KiB of RSS on Node 20 and 18 KiB on Node 24
   * (test/overload.test.ts), so at most about 180 MiB, within a 512 MiB limit;
   * load tools use a few hundred.
   */
  maxConnections: number
  /**
   * PODMETER_ADMIN_TOKEN (environment only, never a flag: flags show in `ps`):
   * when set, POST /stats/reset and the fault routes need
   * `Authorization: Bearer <token>`. At least 16 characters. Default: unset, open.
   */
  adminToken: string
  /** STATS_RESET: `on` (POST /stats/reset works) or `off` (it answers 403). Default on. */
  statsReset: boolean
  /** PODMETER_FAULTS: `on` adds POST /debug/worker/crash, which kills or stalls the histogram worker (tests, chaos drills). Default off. */
  faults: boolean
  /**
   * PODMETER_FAULT_START_MS: with PODMETER_FAULTS=on, the first histogram
   * worker blocks this long before it attaches, as a CPU-throttled pod's
   * first worker start would. Default 0.
   */
  faultStartMs: number
  /**
   * METRICS_BUCKETS: the `le` boundaries of podmeter_request_duration_seconds,
   * ascending durations (a bare number is seconds, as `le` shows it), whole µs,
   * at most 100, within the histogram range. Default DEFAULT_BUCKETS_US
   * (81 buckets from 50 µs to 10 s), at most 10 % apart from 1 ms to 100 ms:
   * docs/stats.md, "Which histogram".
   */
  metricsBucketsUs: number[]
  /**
   * METRICS_NATIVE_SCHEMA: resolution of the native histogram in the
   * protobuf exposition, 0 to 8: 2^schema buckets per power of two. Default
   * 8, each bucket 0.27 % wide (HDR's 3 digits are 0.1 %); every replica
   * that a query sums should use the same one.
   */
  metricsNativeSchema: number
  /**
   * METRICS_PROTOBUF: answer a scraper that prefers the protobuf format with
   * it (native histograms). Off for a scrape path that cannot carry it, such
   * as an Istio agent merging metrics on 15020 that passes the scraper's
   * Accept on and concatenates the answers (docs/deploy.md). Default on.
   */
  metricsProtobuf: boolean
  /**
   * HTTP_THREADS: threads accepting HTTP on PORT, each with its own counters
   * and ring (the main thread is the first; the others relay every path but
   * `/` to it). More than 1 needs listen({ reusePort }): Node 22.12 or later.
   * Default `auto`: the container's CPU quota, else 1 (src/main/cpu-quota.ts).
   */
  httpThreads: number | 'auto'
  /**
   * BASELINE_PORT: a second listener with its own counters and histograms, for
   * unmeshed traffic beside the meshed (a pod excludes it from its sidecar).
   * A port number (0: any free port), or off. Default off (null).
   */
  baselinePort: number | null
  /**
   * TCP_ECHO_PORT: a plain TCP echo listener (every byte read is written
   * back) with its own counters and histograms, for a mesh's L4 cost without
   * HTTP on top (src/main/tcp-echo.ts). A port number (0: any free port), or
   * off. Default off (null).
   */
  tcpEchoPort: number | null
  /**
   * TCP_ECHO_MAX_CONNECTIONS: open echo connections at most; one more is
   * closed as soon as it is accepted, and counted. Default 1000: each holds
   * at most its write queue's high-water mark (16 KiB on Node 20, 64 KiB
   * from Node 22), one read (64 KiB) and its readable buffer (the same
   * high-water mark) in memory, so 100 to 200 MiB when every one is at its worst.
   */
  tcpEchoMaxConnections: number
  /**
   * TCP_ECHO_IDLE_TIMEOUT_MS: an echo connection that reads and writes
   * nothing for this long is closed, in ms; 0 never. Default 3660000 (61
   * min), above the 1 h idle timeout of Envoy's TCP proxy, so that a proxy in
   * front closes an idle connection first (as KEEP_ALIVE_TIMEOUT_MS).
   */
  tcpEchoIdleTimeoutMs: number
}

/**
 * From 1 ms to 100 ms, where injected delays and their tails live, no
 * boundary is more than 10 % above the one before: classic
 * histogram_quantile, which interpolates linearly inside a bucket, is then
 * within 10 % of the HDR figure wherever the quantile falls there, a busy
 * node's tail included (a 20 ms delay answers in 20.05–21 ms when the node is
 * quiet, up to 30–40 ms when it is not). Coarser outside, where the native
 * histogram is the precise reading.
 */
const WITHIN_10_PERCENT = [1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.75, 1.9, 2, 2.2, 2.4, 2.6, 2.8, 3, 3.3, 3.6, 3.8, 4, 4.4, 4.8, 5, 5.5, 6, 6.5, 7, 7.5, 8, 8.8, 9.6]
const scaled = (decade: number, mantissas: number[]): number[] => mantissas.map((m) => Math.round(m * decade))

/** 50us to 750us; WITHIN_10_PERCENT × 1ms and 10ms; 100ms to 7.5s; 10s (81 buckets). */
export const DEFAULT_BUCKETS_US: readonly number[] = [
  ...scaled(10, [5, 7.5]),
  ...scaled(100, [1, 1.5, 2, 3, 5, 7.5]),
  ...[1000, 10_000].flatMap((decade) => scaled(decade, WITHIN_10_PERCENT)),
  ...[100_000, 1_000_000].flatMap((decade) => scaled(decade, [1, 1.5, 2, 3, 5, 7.5])),
  10_000_000
]
const MAX_BUCKETS = 100
/** The largest MAX_SIZE: 1 GiB, so a body's byte count fits one add() to a counter (layout.ts). */
const MAX_SIZE_LIMIT = 2 ** 30

export interface Setting {
  env: string
  /** Undefined for a secret, which only the environment may carry. */
  flag?: string
  key: keyof ServerConfig
  /** The value, or undefined when the text is not acceptable. */
  parse: (text: string) => number | string | number[] | boolean | null | undefined
  accepts: string
}

const integer = (min: number, max: number) => (text: string): number | undefined => {
  if (!/^\d{1,10}$/.test(text)) return undefined
  const n = Number(text)
  return n >= min && n <= max ? n : undefined
}
const durationMs = (min: number, max: number) => (text: string): number | undefined => {
  const us = parseDurationUs(text, 'ms')
  return us !== undefined && us >= min * 1000 && us <= max * 1000 ? us : undefined
}
const absolutePath = (text: string): string | undefined => (/^\/[^\0]{0,4095}$/.test(text) ? text : undefined)
const pathList = (text: string): string | undefined => {
  const paths = text.split(',').map((p) => p.trim())
  return paths.length <= 16 && paths.every((p) => absolutePath(p) !== undefined) ? paths.join(',') : undefined
}
const hostPort = (text: string): string | undefined => {
  if (text === 'off') return text
  const m = /^(?:\[[0-9a-fA-F:.]{2,45}\]|[\w.-]{1,253}):(\d{1,5})$/.exec(text)
  return m !== null && Number(m[1]) >= 1 && Number(m[1]) <= 65535 ? text : undefined
}
const buckets = (text: string): number[] | undefined => {
  const parts = text.split(',', MAX_BUCKETS + 1)
  if (parts.length > MAX_BUCKETS) return undefined
  const out: number[] = []
  for (const part of parts) {
    const us = parseDurationUs(part.trim(), 's')
    if (us === undefined || us < 1 || (out.length > 0 && us <= (out.at(-1) as number))) return undefined
    out.push(us)
  }
  return out
}
const onOff = (text: string): boolean | undefined => {
  const t = text.toLowerCase()
  return ['on', 'true', '1', 'yes'].includes(t) ? true : ['off', 'false', '0', 'no'].includes(t) ? false : undefined
}
// RFC 6750's b64token characters, so the token fits an Authorization header as it is.
const token = (text: string): string | undefined => (/^[\w.~+/-]{16,512}=*$/.test(text) ? text : undefined)
const powerOfTwo = (text: string): number | undefined => {
  const n = integer(1024, 2 ** 26)(text)
  return n !== undefined && (n & (n - 1)) === 0 ? n : undefined
}

export const SETTINGS: Setting[] = [
  { env: 'PORT', flag: 'port', key: 'port', parse: integer(0, 65535), accepts: 'a port number from 0 to 65535' },
  { env: 'HOST', flag: 'host', key: 'host', parse: (t) => (/^[\w.:-]{1,255}$/.test(t) ? t : undefined), accepts: 'an IP address or host name' },
  { env: 'DELAY_MS', flag: 'delay-ms', key: 'delayUs', parse: durationMs(0, 3_600_000), accepts: 'a duration in ms (20, 0.25) or with a unit (250us, 1.5s), at most 1 hour' },
  { env: 'MAX_DELAY_MS', flag: 'max-delay-ms', key: 'maxDelayUs', parse: durationMs(0, 3_600_000), accepts: 'a duration in ms or with a unit, at most 1 hour' },
  { env: 'MAX_SIZE', flag: 'max-size', key: 'maxSize', parse: (t) => { const n = parseSize(t); return n !== undefined && n <= MAX_SIZE_LIMIT ? n : undefined }, accepts: `a size in bytes (65536) or with a unit (64k, 64KiB, 1.5M: k and M are 1024 and 1048576), at most ${formatSize(MAX_SIZE_LIMIT)}` },
  { env: 'WINDOW_SECONDS', flag: 'window-seconds', key: 'windowSeconds', parse: integer(1, 120), accepts: 'a whole number of seconds from 1 to 120' },
  { env: 'RING_CAPACITY', flag: 'ring-capacity', key: 'ringCapacity', parse: powerOfTwo, accepts: 'a power of two from 1024 to 67108864' },
  { env: 'HISTOGRAM_MIN_US', flag: 'histogram-min-us', key: 'lowestUs', parse: integer(1, 1_000_000), accepts: 'a whole number of µs from 1 to 1000000' },
  { env: 'HISTOGRAM_MAX_US', flag: 'histogram-max-us', key: 'highestUs', parse: integer(2, 3_600_000_000), accepts: 'a whole number of µs up to 3600000000 (1 hour)' },
  { env: 'HISTOGRAM_DIGITS', flag: 'histogram-digits', key: 'digits', parse: integer(1, 5), accepts: 'a whole number of significant digits from 1 to 5' },
  { env: 'DRAIN_INTERVAL_MS', flag: 'drain-interval-ms', key: 'drainIntervalMs', parse: integer(1, 1000), accepts: 'a whole number of ms from 1 to 1000' },
  { env: 'STATS_TIMEOUT_MS', flag: 'stats-timeout-ms', key: 'statsTimeoutMs', parse: integer(10, 60_000), accepts: 'a whole number of ms from 10 to 60000' },
  { env: 'SHUTDOWN_GRACE_MS', flag: 'shutdown-grace-ms', key: 'shutdownGraceMs', parse: integer(0, 300_000), accepts: 'a whole number of ms from 0 to 300000' },
  { env: 'SHUTDOWN_DELAY_MS', flag: 'shutdown-delay-ms', key: 'shutdownDelayMs', parse: integer(0, 300_000), accepts: 'a whole number of ms from 0 to 300000' },
  { env: 'KEEP_ALIVE_TIMEOUT_MS', flag: 'keep-alive-timeout-ms', key: 'keepAliveTimeoutMs', parse: integer(0, 7_200_000), accepts: 'a whole number of ms from 0 to 7200000' },
  { env: 'PODINFO_DIR', flag: 'podinfo-dir', key: 'podinfoDir', parse: absolutePath, accepts: 'an absolute directory path' },
  { env: 'PROC_NET_TCP', flag: 'proc-net-tcp', key: 'procNetTcp', parse: pathList, accepts: 'absolute file paths, comma-separated' },
  { env: 'ENVOY_ADMIN', flag: 'envoy-admin', key: 'envoyAdmin', parse: hostPort, accepts: 'host:port (127.0.0.1:15000, [::1]:15000) or off' },
  { env: 'MESH_REFRESH_MS', flag: 'mesh-refresh-ms', key: 'meshRefreshMs', parse: integer(100, 600_000), accepts: 'a whole number of ms from 100 to 600000' },
  { env: 'CGROUP_ROOT', flag: 'cgroup-root', key: 'cgroupRoot', parse: absolutePath, accepts: 'an absolute directory path' },
  { env: 'PROC_SELF', flag: 'proc-self', key: 'procSelf', parse: absolutePath, accepts: 'an absolute directory path' },
  { env: 'HEADERS_TIMEOUT_MS', flag: 'headers-timeout-ms', key: 'headersTimeoutMs', parse: integer(10, 600_000), accepts: 'a whole number of ms from 10 to 600000' },
  { env: 'REQUEST_TIMEOUT_MS', flag: 'request-timeout-ms', key: 'requestTimeoutMs', parse: integer(10, 3_600_000), accepts: 'a whole number of ms from 10 to 3600000' },
  { env: 'MAX_CONNECTIONS', flag: 'max-connections', key: 'maxConnections', parse: integer(1, 1_000_000), accepts: 'a whole number from 1 to 1000000' },
  { env: 'PODMETER_ADMIN_TOKEN', key: 'adminToken', parse: token, accepts: 'a token of 16 to 512 characters from A-Z a-z 0-9 - . _ ~ + / (and trailing =)' },
  { env: 'STATS_RESET', flag: 'stats-reset', key: 'statsReset', parse: onOff, accepts: 'on or off' },
  { env: 'PODMETER_FAULTS', flag: 'faults', key: 'faults', parse: onOff, accepts: 'on or off' },
  { env: 'PODMETER_FAULT_START_MS', key: 'faultStartMs', parse: integer(0, 60_000), accepts: 'a whole number of ms from 0 to 60000' },
  { env: 'METRICS_BUCKETS', flag: 'metrics-buckets', key: 'metricsBucketsUs', parse: buckets, accepts: `a list of at most ${MAX_BUCKETS} ascending durations of at least 1us, like 100us,1ms,10ms,0.1 (a bare number is seconds)` },
  { env: 'METRICS_NATIVE_SCHEMA', flag: 'metrics-native-schema', key: 'metricsNativeSchema', parse: integer(0, 8), accepts: 'a whole number from 0 to 8 (2^schema native buckets per power of two)' },
  { env: 'METRICS_PROTOBUF', flag: 'metrics-protobuf', key: 'metricsProtobuf', parse: onOff, accepts: 'on or off' },
  { env: 'HTTP_THREADS', flag: 'http-threads', key: 'httpThreads', parse: (t) => (t === 'auto' ? 'auto' : integer(1, 64)(t)), accepts: 'auto or a whole number of threads from 1 to 64' },
  { env: 'BASELINE_PORT', flag: 'baseline-port', key: 'baselinePort', parse: (t) => (t === 'off' ? null : integer(0, 65535)(t)), accepts: 'a port number from 0 to 65535, or off' },
  { env: 'TCP_ECHO_PORT', flag: 'tcp-echo-port', key: 'tcpEchoPort', parse: (t) => (t === 'off' ? null : integer(0, 65535)(t)), accepts: 'a port number from 0 to 65535, or off' },
  { env: 'TCP_ECHO_MAX_CONNECTIONS', flag: 'tcp-echo-max-connections', key: 'tcpEchoMaxConnections', parse: integer(1, 1_000_000), accepts: 'a whole number from 1 to 1000000' },
  { env: 'TCP_ECHO_IDLE_TIMEOUT_MS', flag: 'tcp-echo-idle-timeout-ms', key: 'tcpEchoIdleTimeoutMs', parse: integer(0, 7_200_000), accepts: 'a whole number of ms from 0 (never) to 7200000' }
]

export const DEFAULTS: ServerConfig = {
  port: 8080,
  host: '0.0.0.0',
  delayUs: 20_000,
  maxDelayUs: 10_000_000,
  maxSize: 2 ** 20,
  windowSeconds: 10,
  ringCapacity: 2 ** 18,
  lowestUs: 1,
  highestUs: 60_000_000,
  digits: 3,
  drainIntervalMs: 50,
  statsTimeoutMs: 2000,
  shutdownGraceMs: 20_000,
  shutdownDelayMs: 5000,
  keepAliveTimeoutMs: 3_660_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxConnections: 10_000,
  adminToken: '',
  statsReset: true,
  faults: false,
  faultStartMs: 0,
  podinfoDir: '/etc/podinfo',
  procNetTcp: '/proc/net/tcp,/proc/net/tcp6',
  envoyAdmin: '127.0.0.1:15000',
  meshRefreshMs: 5000,
  cgroupRoot: '/sys/fs/cgroup',
  procSelf: '/proc/self',
  metricsBucketsUs: [...DEFAULT_BUCKETS_US],
  metricsNativeSchema: 8,
  metricsProtobuf: true,
  httpThreads: 'auto',
  baselinePort: null,
  tcpEchoPort: null,
  tcpEchoMaxConnections: 1000,
  tcpEchoIdleTimeoutMs: 3_660_000
}

/**
 * The checked config from the environment and the flags given (by flag
 * name, without dashes; they win over the environment).
 */
export function resolveConfig (flags: ReadonlyMap<string, string>, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const values = new Map<Setting, string>()
  for (const s of SETTINGS) {
    const v = s.flag === undefined ? undefined : flags.get(s.flag)
    const e = env[s.env]
    if (v !== undefined) values.set(s, v)
    else if (e !== undefined && e !== '') values.set(s, e)
  }
  const config: ServerConfig = { ...DEFAULTS, metricsBucketsUs: [...DEFAULTS.metricsBucketsUs] }
  for (const [s, text] of values) {
    const parsed = s.parse(text.trim())
    // A secret is never echoed, not even a wrong one.
    const shown = s.flag === undefined ? 'the value' : JSON.stringify(text)
    if (parsed === undefined) throw new ConfigError(s.env, `${shown} is not ${s.accepts}`)
    ;(config as unknown as Record<string, unknown>)[s.key] = parsed
  }
  if (config.highestUs < 2 * config.lowestUs) {
    throw new ConfigError('HISTOGRAM_MAX_US', `must be at least twice HISTOGRAM_MIN_US (${config.lowestUs})`)
  }
  const outside = config.metricsBucketsUs.find((us) => us < config.lowestUs || us > config.highestUs)
  if (outside !== undefined) {
    throw new ConfigError('METRICS_BUCKETS', `${formatDuration(outside)} is outside the histogram range (HISTOGRAM_MIN_US ${config.lowestUs} to HISTOGRAM_MAX_US ${config.highestUs})`)
  }
  if (config.httpThreads !== 'auto' && config.httpThreads > 1 && !reusePortWorks()) {
    throw new ConfigError('HTTP_THREADS', `${config.httpThreads} threads share one port through listen({ reusePort }), which needs Node 22.12 or later; this is Node ${process.versions.node}: use 1`)
  }
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    throw new ConfigError('HEADERS_TIMEOUT_MS', `must not be larger than REQUEST_TIMEOUT_MS (${config.requestTimeoutMs} ms)`)
  }
  if (config.shutdownDelayMs >= config.shutdownGraceMs && config.shutdownDelayMs > 0) {
    throw new ConfigError('SHUTDOWN_DELAY_MS', `must be shorter than SHUTDOWN_GRACE_MS (${config.shutdownGraceMs} ms), which includes it`)
  }
  if (config.delayUs > config.maxDelayUs) {
    throw new ConfigError('DELAY_MS', `is larger than MAX_DELAY_MS (${config.maxDelayUs / 1000} ms)`)
  }
  if (config.baselinePort !== null && config.baselinePort !== 0 && config.baselinePort === config.port) {
    throw new ConfigError('BASELINE_PORT', `must differ from PORT (${config.port})`)
  }
  if (config.tcpEchoPort !== null && config.tcpEchoPort !== 0) {
    for (const [name, port] of [['PORT', config.port], ['BASELINE_PORT', config.baselinePort]] as const) {
      if (port === config.tcpEchoPort) throw new ConfigError('TCP_ECHO_PORT', `must differ from ${name} (${port})`)
    }
  }
  return config
}

/** The default of a setting as its flag would be written. */
export function defaultText (s: Setting): string {
  const def = DEFAULTS[s.key]
  if (s.flag === undefined) return 'unset'
  if (Array.isArray(def)) return def.map(formatDuration).join(',')
  if (typeof def === 'boolean') return def ? 'on' : 'off'
  if (def === null) return 'off'
  return String(s.key.endsWith('Us') && s.env.endsWith('_MS') ? Number(def) / 1000 : def)
}

/** Whether net.Server.listen() takes reusePort (Node 22.12+, 23.1+). */
export function reusePortWorks (version = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12)
}
