// The query of `/`, in Fortio's spelling (docs/http-workloads.md has the table):
//
//   delay, status  a single value or Fortio's weighted list, where weights are
//                  percentages of requests and the remainder gets the default:
//                  `delay=150us:10,2ms:5` gives 10 % of requests 150 µs, 5 %
//                  2 ms and 85 % DELAY_MS; `status=503:5` gives 5 % 503 and 95 % 200
//   size           the body's size, or a weighted list (`size=1k:90,64k:10`);
//                  the remainder gets the default body (GET) or the echo (POST)
//   header         Name:Value, repeatable (response-headers.ts)
//   close          true or 1, false or 0, or a percentage of answers
//
// Unknown parameters are ignored (load tools add cache busters); any but
// `header` given twice, or a query of more than MAX_PARAMS parameters, is
// refused rather than read one way or another.
//
// Parsed specs are cached by query string: a load run repeats one URL, so the
// hot path pays a Map lookup, not a parse.

import { parseDurationUs } from '../shared/duration.js'
import { ApiError, type ErrorCode } from '../shared/errors.js'
import { formatSize, parseSize } from '../shared/size.js'
import { Payloads, type Payload } from './payload.js'
import { askedHeaders, NO_HEADERS, type AskedHeaders } from './response-headers.js'

const MAX_ENTRIES = 32
/** Parameters read from one query; more is refused, so a `delay` is never skipped unseen. */
export const MAX_PARAMS = 64
const CACHE_SIZE = 256
/**
 * The longest delay or status value read, as sent (percent-encoded): 32
 * entries of `10000ms:99.999999` fit in under 600 characters. A longer one
 * is refused before it is decoded, so its cost does not grow with its length.
 */
const MAX_VALUE_CHARS = 2048
/** Longer URLs are parsed each time, never kept (see parse()). */
const CACHE_URL_MAX = 512

/** A choice of values by cumulative percentage; `fallback` takes what the weights leave. */
export interface Choice<T = number> {
  readonly values: readonly T[]
  /** Cumulative percentages, ascending, the last at most 100. */
  readonly upTo: readonly number[]
  readonly fallback: T
}

export interface RootSpec {
  readonly delay: Choice
  readonly status: Choice
  /** What `size`, `header` and `close` ask for; undefined without them: the plain answer (server.ts). */
  readonly shape: Shape | undefined
}

/** An answer other than the plain one (shaped.ts, upload.ts). */
export interface Shape {
  /** The body; null: the default body of GET and HEAD, the echo of POST and PUT. */
  readonly size: Choice<Payload | null>
  readonly headers: AskedHeaders
  /** The percentage of answers that close their connection, 0 to 100. */
  readonly close: number
}

/** The shape of an answer off the plain path that asked for nothing (HEAD, POST, PUT). */
export const NO_SHAPE: Shape = { size: fixed(null), headers: NO_HEADERS, close: 0 }

export function fixed<T> (value: T): Choice<T> {
  return { values: [], upTo: [], fallback: value }
}

/** Whether this answer closes its connection: `close` percent of them. */
export function closes (percent: number): boolean {
  return percent >= 100 || (percent > 0 && Math.random() * 100 < percent)
}

/** Draws a value: one Math.random() only when there is a list. */
export function pick<T> (c: Choice<T>): T {
  const n = c.upTo.length
  if (n === 0) return c.fallback
  const r = Math.random() * 100
  for (let i = 0; i < n; i++) if (r < (c.upTo[i] as number)) return c.values[i] as T
  return c.fallback
}

function parseChoice (
  text: string,
  parseValue: (t: string) => number | undefined,
  fallback: number,
  badCode: ErrorCode,
  check?: (value: number) => ApiError | undefined
): Choice | ApiError {
  const parts = text.split(',', MAX_ENTRIES + 1)
  if (parts.length > MAX_ENTRIES) return new ApiError(badCode, `a weighted list has at most ${MAX_ENTRIES} entries`)
  if (parts.length === 1 && !text.includes(':')) {
    const v = parseValue(text)
    if (v === undefined) return new ApiError(badCode)
    return check?.(v) ?? fixed(v)
  }
  const values: number[] = []
  const upTo: number[] = []
  let total = 0
  for (const part of parts) {
    const colon = part.lastIndexOf(':')
    if (colon <= 0) return new ApiError(badCode, `${JSON.stringify(part.slice(0, 64))}: each entry of a list is value:percent`)
    const v = parseValue(part.slice(0, colon))
    if (v === undefined) return new ApiError(badCode)
    const bad = check?.(v)
    if (bad !== undefined) return bad
    // Fortio takes a `%` after a weight (`delay=10ms:20%`): so does this.
    const written = part.slice(colon + 1)
    const wText = written.endsWith('%') ? written.slice(0, -1) : written
    const w = /^\d{1,3}(\.\d{1,6})?$/.test(wText) ? Number(wText) : Number.NaN
    if (!(w > 0 && w <= 100)) return new ApiError('INVALID_WEIGHTS', `${JSON.stringify(wText.slice(0, 64))} is not a percentage above 0 and at most 100`)
    total += w
    if (total > 100 + 1e-9) return new ApiError('INVALID_WEIGHTS', 'the weights of a list add up to more than 100')
    values.push(v)
    upTo.push(total)
  }
  return { values, upTo, fallback }
}

const parseStatus = (t: string): number | undefined => {
  if (!/^\d{3}$/.test(t)) return undefined
  const n = Number(t)
  return n >= 200 && n <= 599 ? n : undefined
}

/**
 * `close`: true or 1 close every answer's connection, false or 0 none, any
 * other number from 0 to 100 (a `%` after it allowed, `%25` in a URL) is a
 * percentage of answers. Fortio reads `close=1` as 1 %; here it is the flag
 * the issue and curl users write, and 1 % is `close=1.0`.
 */
export function parseClose (t: string): number | undefined {
  const lower = t.toLowerCase()
  if (lower === 'true' || t === '1') return 100
  if (lower === 'false' || t === '0') return 0
  if (!/^\d{1,3}(\.\d{1,6})?%?$/.test(t)) return undefined
  const p = Number(t.endsWith('%') ? t.slice(0, -1) : t)
  return p <= 100 ? p : undefined
}

/** The parameters read, each with the code of a value too long to read. */
const KEYS: Record<string, ErrorCode> = { delay: 'INVALID_DELAY', status: 'INVALID_STATUS', size: 'INVALID_SIZE', header: 'INVALID_HEADER', close: 'INVALID_CLOSE' }

export class RootQueryParser {
  readonly #defaultDelayUs: number
  readonly #maxDelayUs: number
  readonly #payloads: Payloads
  readonly #cache = new Map<string, RootSpec | ApiError>()
  readonly plain: RootSpec
  #lastUrl = '/'
  #last: RootSpec | ApiError

  /** `maxSize`: MAX_SIZE, the largest `size`, in bytes (default 1 MiB). */
  constructor (defaultDelayUs: number, maxDelayUs: number, maxSize = 2 ** 20) {
    this.#defaultDelayUs = defaultDelayUs
    this.#maxDelayUs = maxDelayUs
    this.#payloads = new Payloads(maxSize)
    this.plain = { delay: fixed(defaultDelayUs), status: fixed(200), shape: undefined }
    this.#last = this.plain
  }

  /** `url` is the request target, `/?…`. Returns the spec, or the ApiError to answer with. */
  parse (url: string): RootSpec | ApiError {
    // A load run repeats one URL: comparing with the last one is cheaper than hashing it.
    if (url === this.#lastUrl) return this.#last
    let spec = this.#cache.get(url)
    if (spec === undefined) {
      spec = this.#parse(url.slice(url.indexOf('?') + 1))
      // A bounded cache: a client that sends endless distinct queries only
      // costs us a parse each, never memory. Long ones are not kept at all:
      // 256 distinct 16 KiB URLs held here made every parse cost ten times
      // more in garbage collection than the parse itself (bench micro).
      if (url.length <= CACHE_URL_MAX) {
        if (this.#cache.size >= CACHE_SIZE) this.#cache.clear()
        this.#cache.set(url, spec)
      }
    }
    this.#lastUrl = url
    this.#last = spec
    return spec
  }

  #parse (query: string): RootSpec | ApiError {
    let delay: Choice | undefined
    let status: Choice | undefined
    let size: Choice<Payload | null> | undefined
    let close: number | undefined
    const headers: string[] = []
    const pairs = query.split('&', MAX_PARAMS + 1)
    if (pairs.length > MAX_PARAMS) return new ApiError('INVALID_QUERY', `more than ${MAX_PARAMS} query parameters`)
    for (const pair of pairs) {
      const eq = pair.indexOf('=')
      const key = eq < 0 ? pair : pair.slice(0, eq)
      if (!Object.hasOwn(KEYS, key)) continue
      const given = key === 'delay' ? delay : key === 'status' ? status : key === 'size' ? size : key === 'close' ? close : undefined
      if (given !== undefined) return new ApiError('INVALID_QUERY', `${key} is given more than once`)
      if (pair.length - eq - 1 > MAX_VALUE_CHARS) {
        return new ApiError(KEYS[key] as ErrorCode, `${key} is longer than ${MAX_VALUE_CHARS} characters${key === 'header' ? '' : `: a list has at most ${MAX_ENTRIES} entries`}`)
      }
      let value: string
      try {
        value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '))
      } catch {
        return new ApiError('INVALID_QUERY', `${key}: not valid percent-encoding`)
      }
      let c: Choice | ApiError
      switch (key) {
        case 'delay':
          c = parseChoice(value, (t) => parseDurationUs(t, 'ms'), this.#defaultDelayUs, 'INVALID_DELAY', (us) =>
            us > this.#maxDelayUs ? new ApiError('DELAY_TOO_LARGE', `delay ${value.slice(0, 64)} is larger than MAX_DELAY_MS (${this.#maxDelayUs / 1000} ms)`) : undefined)
          if (c instanceof ApiError) return c
          delay = c
          break
        case 'status':
          c = parseChoice(value, parseStatus, 200, 'INVALID_STATUS')
          if (c instanceof ApiError) return c
          status = c
          break
        case 'size': {
          const max = this.#payloads.max
          c = parseChoice(value, parseSize, -1, 'INVALID_SIZE', (n) =>
            n > max ? new ApiError('SIZE_TOO_LARGE', `size ${value.slice(0, 64)} is larger than MAX_SIZE (${formatSize(max)})`) : undefined)
          if (c instanceof ApiError) return c
          size = { values: c.values.map((n) => this.#payloads.get(n)), upTo: c.upTo, fallback: c.fallback < 0 ? null : this.#payloads.get(c.fallback) }
          break
        }
        case 'close': {
          const p = parseClose(value)
          if (p === undefined) return new ApiError('INVALID_CLOSE', `close=${JSON.stringify(value.slice(0, 64))} is not true, false, 1, 0 nor a percentage from 0 to 100 (1 % is close=1.0)`)
          close = p
          break
        }
        default:
          headers.push(value)
      }
    }
    const asked = askedHeaders(headers)
    if (asked instanceof ApiError) return asked
    const shape: Shape | undefined = size === undefined && close === undefined && headers.length === 0
      ? undefined
      : { size: size ?? NO_SHAPE.size, headers: asked, close: close ?? 0 }
    return { delay: delay ?? this.plain.delay, status: status ?? this.plain.status, shape }
  }
}
