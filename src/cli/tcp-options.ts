// The options of `podmeter load tcp://host:port`: the load options it shares
// with HTTP (-c, -n, -d, --warmup, --timeout, -p, --label), read by
// readLoadOptions itself so that both mean the same, and its own: --payload
// and --rate. Options that only mean something for HTTP are refused.

import { parseSize } from '../shared/size.js'
import { type OptionSpec, type Reader, UsageError } from './args.js'
import { readLoadOptions, type LoadOptions } from './load-options.js'

export const DEFAULT_PAYLOAD = 1024
export const MAX_PAYLOAD = 16 * 1024 * 1024

export const TCP_OPTIONS: OptionSpec[] = [
  { name: 'payload', value: 'N', help: `tcp:// only: bytes per message (1024, 1k, 64KiB), echoed back whole (default ${DEFAULT_PAYLOAD})` },
  { name: 'rate', value: 'R', help: 'tcp:// only: open loop at R messages per second on a fixed timetable (default: closed loop)' }
]

/** HTTP's options that a TCP echo has no use for, and what to give instead. */
const HTTP_ONLY: Record<string, string> = {
  qps: 'give --rate for a TCP open loop',
  pipelining: 'a TCP echo connection carries one message at a time',
  method: 'a TCP echo has no method',
  header: 'a TCP echo has no headers',
  body: 'give --payload, the bytes per message',
  'body-file': 'give --payload, the bytes per message',
  'body-size': 'give --payload, the bytes per message'
}

export interface TcpLoadOptions {
  host: string
  port: number
  /** --payload: bytes per message. Default DEFAULT_PAYLOAD. */
  payloadBytes: number
  /** The engine's options: -c, -n, -d, --warmup, --timeout, -p, --label as for HTTP; --rate as qps; method TCP. */
  load: LoadOptions
}

/** Whether a load target is a TCP echo's. */
export function isTcpTarget (text: string): boolean {
  return /^tcp:/i.test(text)
}

/** For an http(s) target: refuses the options that are tcp://'s only. */
export function refuseTcpOnly (r: Reader): void {
  for (const o of TCP_OPTIONS) if (r.has(o.name)) throw new UsageError(`--${o.name} is for a tcp:// target (a TCP echo); for HTTP see -b/--body and --qps`)
}

/** `tcp://host:port`, and nothing else. */
export function parseTcpUrl (text: string): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new UsageError(`${JSON.stringify(text)} is not a tcp:// address (like tcp://127.0.0.1:8082)`)
  }
  if (url.protocol !== 'tcp:' || url.hostname === '' || url.port === '') throw new UsageError(`${JSON.stringify(text)}: a TCP echo's address is tcp://host:port, with its port`)
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new UsageError(`${JSON.stringify(text)}: tcp://host:port takes no path, query, fragment or user`)
  }
  return url
}

export function readTcpLoadOptions (r: Reader, url: URL, env: NodeJS.ProcessEnv = process.env): TcpLoadOptions {
  for (const [name, why] of Object.entries(HTTP_ONLY)) if (r.has(name)) throw new UsageError(`--${name} is for HTTP targets: ${why}`)
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  const port = Number(url.port)
  // What HTTP and TCP share is read as HTTP reads it, against a stand-in of the same host and port.
  const shared = readLoadOptions(r, new URL(`http://${url.host}/`), {}, env)
  const stats = r.string('stats-url')
  return {
    host,
    port,
    payloadBytes: payload(r.string('payload')),
    load: {
      ...shared,
      url,
      method: 'TCP',
      pipelining: 1,
      qps: r.number('rate', 0.001, 10_000_000),
      // A TCP echo has no /stats of its own: read one only when asked (the pod's HTTP port).
      statsUrl: stats === undefined ? null : shared.statsUrl
    }
  }
}

/** --payload: a size in the units of /?size= (1k = 1024), from 1 byte to MAX_PAYLOAD. */
function payload (text: string | undefined): number {
  if (text === undefined) return DEFAULT_PAYLOAD
  const bytes = parseSize(text)
  if (bytes === undefined || bytes < 1 || bytes > MAX_PAYLOAD) throw new UsageError(`--payload: ${JSON.stringify(text.slice(0, 40))} is not a size from 1 byte to 16MiB (like 1024, 1k, 64KiB)`)
  return bytes
}
