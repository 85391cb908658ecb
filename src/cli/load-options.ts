// The options of one load run, shared by `podmeter load` and the live
// `podmeter compare` (whose rounds are load runs). Each documents its default
// and unit where it is defined.

import { type OptionSpec, parsePercentiles, type Reader, UsageError } from './args.js'
import { isNodeName } from '../shared/node-name.js'
import { requestBody } from './request-body.js'
import { COST_OPTIONS, type CostOptions, readCostOptions } from './cost/options.js'

export interface LoadOptions {
  /** The target; http: or https:. */
  url: URL
  /** -c: connections, each with `pipelining` requests in flight. Default 10. */
  connections: number
  /** -P: requests in flight per connection (HTTP/1.1 pipelining). Default 1. */
  pipelining: number
  /** --qps: open loop at this many requests per second, on a fixed timetable. Default: closed loop. */
  qps: number | undefined
  /** -n: measured requests to send; exclusive with durationUs. */
  requests: number | undefined
  /** -d: how long to send measured requests, µs. Default 10 s when -n is not given. */
  durationUs: number | undefined
  /** --warmup: unmeasured load before the measured part, µs. Default 1 s for load and compare: a cold client is slow (JIT, connections). */
  warmupUs: number
  /** --timeout: per request (connect, headers, body), µs. Default 10 s. */
  timeoutUs: number
  /** -m: HTTP method. Default GET. */
  method: string
  /** -H: extra request headers, as name, value pairs. */
  headers: string[]
  /** -b, --body-file or --body-size: the request body, sent whole with its Content-Length; an empty one for POST, PUT and PATCH without them; none otherwise. */
  body: Buffer | undefined
  /** -p: percentiles to report. Default 50,90,99,99.9. */
  percentiles: number[]
  /** --label: name of this run in a comparison. Default: none (compare uses the file name). */
  label: string | undefined
  /** --stats-url: the target's /stats, read after the run for its memory figures; null with --no-stats. Default <origin>/stats. */
  statsUrl: string | null
  /** --client-node: the Kubernetes node this client runs on (default $NODE_NAME), for the result's placement; null when unknown. */
  clientNode: string | null
  /** --prometheus and the cost options: what to query for the cost of the measured window; null without --prometheus (cost/options.ts). */
  cost: CostOptions | null
}

export const DEFAULT_PERCENTILES = [50, 90, 99, 99.9]
export const DEFAULT_DURATION_US = 10_000_000
export const DEFAULT_WARMUP_US = 1_000_000
const MAX_US = 24 * 3_600_000_000

export const LOAD_OPTIONS: OptionSpec[] = [
  { name: 'connections', short: 'c', value: 'N', help: 'connections (default 10)' },
  { name: 'pipelining', short: 'P', value: 'N', help: 'requests in flight per connection, HTTP/1.1 pipelining (default 1)' },
  { name: 'qps', value: 'R', help: 'open loop: R requests per second on a fixed timetable, latency from the scheduled time (default: closed loop)' },
  { name: 'requests', short: 'n', value: 'N', help: 'send N measured requests' },
  { name: 'duration', short: 'd', value: 'TIME', help: 'send measured requests for TIME (default 10s; a bare number is seconds)' },
  { name: 'warmup', value: 'TIME', help: 'unmeasured load first, for TIME (default 1s; 0 runs cold)' },
  { name: 'timeout', value: 'TIME', help: 'per request: connect, headers and body each (default 10s)' },
  { name: 'method', short: 'm', value: 'METHOD', help: 'HTTP method: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS… (default GET)' },
  { name: 'header', short: 'H', value: "'NAME: VALUE'", repeat: true, help: 'request header (repeatable)' },
  { name: 'body', short: 'b', value: 'TEXT', help: 'request body, as UTF-8 (with -m POST, PUT…)' },
  { name: 'body-file', value: 'PATH', help: 'request body: the bytes of a file, read once (at most 64 MiB)' },
  { name: 'body-size', value: 'SIZE', help: 'request body: SIZE bytes, the same on every run (1024, 1k, 64KiB: units are powers of 1024, as in /?size=; at most 64MiB)' },
  { name: 'percentiles', short: 'p', value: 'LIST', help: 'percentiles to report (default 50,90,99,99.9)' },
  { name: 'label', value: 'NAME', help: 'name of this run in `podmeter compare`' },
  { name: 'stats-url', value: 'URL', help: "the target's /stats, read after the run for its memory (default <origin>/stats)" },
  { name: 'no-stats', help: "do not read the target's /stats" },
  { name: 'client-node', value: 'NAME', help: "the Kubernetes node this client runs on, for the result's placement (default $NODE_NAME)" },
  ...COST_OPTIONS
]

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** Header fields that frame the message or manage the connection: the client sets them, never -H. */
const FRAMING = new Set(['connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect', 'proxy-connection'])

export function parseUrl (text: string, what = 'URL'): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new UsageError(`${JSON.stringify(text)} is not a ${what} (like http://127.0.0.1:8080/?delay=0)`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${JSON.stringify(text)}: only http: and https: ${what}s`)
  return url
}

/** Reads the load options; `url` comes from the caller (a positional, or compare's --target). */
export function readLoadOptions (r: Reader, url: URL, defaults: { durationUs?: number, warmupUs?: number } = {}, env: NodeJS.ProcessEnv = process.env): LoadOptions {
  const requests = r.int('requests', 1, 1e12)
  let durationUs = r.durationUs('duration', 's', 1000, MAX_US)
  if (requests !== undefined && durationUs !== undefined) throw new UsageError('-n/--requests and -d/--duration exclude each other: give one')
  if (requests === undefined && durationUs === undefined) durationUs = defaults.durationUs ?? DEFAULT_DURATION_US
  const { method, body } = requestBody({ method: r.string('method'), text: r.string('body'), file: r.string('body-file'), size: r.string('body-size') })
  const headers: string[] = []
  for (const h of r.all('header')) {
    const colon = h.indexOf(':')
    const name = colon < 0 ? '' : h.slice(0, colon).trim()
    const value = colon < 0 ? '' : h.slice(colon + 1).trim()
    if (!TOKEN.test(name) || /[\r\n\0]/.test(value)) throw new UsageError(`-H/--header: ${JSON.stringify(h)} is not 'Name: value'`)
    if (FRAMING.has(name.toLowerCase())) throw new UsageError(`-H/--header: ${name} is the client's to set (connections are kept alive, a body gets its Content-Length)`)
    headers.push(name, value)
  }
  const statsText = r.string('stats-url')
  if (statsText !== undefined && r.flag('no-stats')) throw new UsageError('--stats-url and --no-stats exclude each other')
  const label = r.string('label')
  if (label !== undefined && !/^[\w.:@/+-]{1,64}$/.test(label)) throw new UsageError(`--label: ${JSON.stringify(label)} is not 1 to 64 letters, digits or ._:@/+-`)
  const pipelining = r.int('pipelining', 1, 1024) ?? 1
  const connections = r.int('connections', 1, 10_000) ?? 10
  return {
    url,
    connections,
    pipelining,
    qps: r.number('qps', 0.001, 10_000_000),
    requests,
    durationUs,
    warmupUs: r.durationUs('warmup', 's', 0, MAX_US) ?? defaults.warmupUs ?? DEFAULT_WARMUP_US,
    timeoutUs: r.durationUs('timeout', 's', 1000, 3_600_000_000) ?? 10_000_000,
    method,
    headers,
    body,
    percentiles: r.has('percentiles') ? parsePercentiles(r.string('percentiles') as string) : DEFAULT_PERCENTILES,
    label,
    statsUrl: r.flag('no-stats') ? null : statsText !== undefined ? parseUrl(statsText, 'stats URL').href : new URL('/stats', url).href,
    clientNode: clientNode(r.string('client-node'), env.NODE_NAME),
    cost: readCostOptions(r, env)
  }
}

/** --client-node, else $NODE_NAME (the Downward API's spec.nodeName in the client Job); a bad flag is refused, a bad variable ignored with a note. */
function clientNode (flag: string | undefined, variable: string | undefined): string | null {
  if (flag !== undefined) {
    if (!isNodeName(flag)) throw new UsageError(`--client-node: ${JSON.stringify(flag)} is not a Kubernetes node name (lower-case letters, digits, - and ., at most 253)`)
    return flag
  }
  if (variable === undefined || variable === '') return null
  if (isNodeName(variable)) return variable
  process.stderr.write(`podmeter: NODE_NAME ${JSON.stringify(variable.slice(0, 80))} is not a Kubernetes node name: the client's node is unknown (give --client-node)\n`)
  return null
}
