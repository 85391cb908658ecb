// The query of `GET /`: `delay` and `status`, each a single value or Fortio's
// weighted list, where weights are percentages of requests and the remainder
// gets the default: `delay=150us:10,2ms:5` gives 10 % of requests 150 µs, 5 %
// 2 ms and 85 % DELAY_MS; `status=503:5` gives 5 % 503 and 95 % 200.
// Unknown parameters are ignored (load tools add cache busters); `delay` or
// `status` given twice, or a query of more than MAX_PARAMS parameters, is
// refused rather than read one way or another.
//
// Parsed specs are cached by query string: a load run repeats one URL, so the
// hot path pays a Map lookup, not a parse.

import { parseDurationUs } from '../shared/duration.js'
import { ApiError, type ErrorCode } from '../shared/errors.js'

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
export interface Choice {
  readonly values: readonly number[]
  /** Cumulative percentages, ascending, the last at most 100. */
  readonly upTo: readonly number[]
  readonly fallback: number
}

export interface RootSpec {
  readonly delay: Choice
  readonly status: Choice
}

export function fixed (value: number): Choice {
  return { values: [], upTo: [], fallback: value }
}

/** Draws a value: one Math.random() only when there is a list. */
export function pick (c: Choice): number {
  const n = c.upTo.length
  if (n === 0) return c.fallback
  const r = Math.random() * 100
  for (let i = 0; i < n; i++) if (r < (c.upTo[i] as number)) return c.values[i] as number
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
    const wText = part.slice(colon + 1)
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

export class RootQueryParser {
  readonly #defaultDelayUs: number
  readonly #maxDelayUs: number
  readonly #cache = new Map<string, RootSpec | ApiError>()
  readonly plain: RootSpec
  #lastUrl = '/'
  #last: RootSpec | ApiError

  constructor (defaultDelayUs: number, maxDelayUs: number) {
    this.#defaultDelayUs = defaultDelayUs
    this.#maxDelayUs = maxDelayUs
    this.plain = { delay: fixed(defaultDelayUs), status: fixed(200) }
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
    const pairs = query.split('&', MAX_PARAMS + 1)
    if (pairs.length > MAX_PARAMS) return new ApiError('INVALID_QUERY', `more than ${MAX_PARAMS} query parameters`)
    for (const pair of pairs) {
      const eq = pair.indexOf('=')
      const key = eq < 0 ? pair : pair.slice(0, eq)
      if (key !== 'delay' && key !== 'status') continue
      if ((key === 'delay' ? delay : status) !== undefined) return new ApiError('INVALID_QUERY', `${key} is given more than once`)
      if (pair.length - eq - 1 > MAX_VALUE_CHARS) {
        return new ApiError(key === 'delay' ? 'INVALID_DELAY' : 'INVALID_STATUS', `${key} is longer than ${MAX_VALUE_CHARS} characters: a list has at most ${MAX_ENTRIES} entries`)
      }
      let value: string
      try {
        value = decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '))
      } catch {
        return new ApiError('INVALID_QUERY', `${key}: not valid percent-encoding`)
      }
      if (key === 'delay') {
        const c = parseChoice(value, (t) => parseDurationUs(t, 'ms'), this.#defaultDelayUs, 'INVALID_DELAY', (us) =>
          us > this.#maxDelayUs ? new ApiError('DELAY_TOO_LARGE', `delay ${value.slice(0, 64)} is larger than MAX_DELAY_MS (${this.#maxDelayUs / 1000} ms)`) : undefined)
        if (c instanceof ApiError) return c
        delay = c
      } else {
        const c = parseChoice(value, parseStatus, 200, 'INVALID_STATUS')
        if (c instanceof ApiError) return c
        status = c
      }
    }
    return { delay: delay ?? this.plain.delay, status: status ?? this.plain.status }
  }
}
