// The error table. Every error a client can get has a stable code, an HTTP
// status and a default message; a response body is always
// {"error":{"code":"…","message":"…"}}. Codes never change meaning once shipped.
//
// Errors do not cross threads as classes (piscina delivers a worker's error as a
// plain Error without its code), so workers return { ok: false, code } and the
// main thread turns that into an ApiError with this table.

export const ERRORS = {
  INVALID_DELAY: { status: 400, message: 'delay must be a duration (250us, 5ms, 1.5s; a bare number is ms) or a weighted list like 1ms:90,50ms:10' },
  DELAY_TOO_LARGE: { status: 400, message: 'delay is larger than MAX_DELAY_MS' },
  INVALID_STATUS: { status: 400, message: 'status must be an HTTP status code from 200 to 599 or a weighted list like 503:5,429:1' },
  INVALID_WEIGHTS: { status: 400, message: 'weights in a list are percentages of requests: each above 0, all together at most 100' },
  INVALID_SIZE: { status: 400, message: 'size must be a byte count (512, 1k, 64KiB, 1.5M: k and M are 1024 and 1048576) or a weighted list like 1k:90,64k:10' },
  SIZE_TOO_LARGE: { status: 400, message: 'size is larger than MAX_SIZE' },
  INVALID_HEADER: { status: 400, message: 'header must be Name:Value, with a token for a name and visible ASCII (and spaces) for a value; at most 16 of them, 4096 bytes in all' },
  HEADER_NOT_ALLOWED: { status: 400, message: 'header= may not set the framing or hop-by-hop headers (Content-Length, Transfer-Encoding, Connection, Keep-Alive, TE, Trailer, Upgrade, Proxy-Connection) nor Server-Timing' },
  INVALID_CLOSE: { status: 400, message: 'close must be true or 1 (every answer closes its connection), false or 0, or a percentage of answers like 5.3 (1 % is 1.0)' },
  INVALID_QUERY: { status: 400, message: 'the query string could not be read: broken percent-encoding, a parameter given twice, or too many parameters' },
  INVALID_PERCENTILES: { status: 400, message: 'percentiles must be a list of numbers above 0 and at most 100, like 50,90,99.99, at most 32' },
  INVALID_WINDOW: { status: 400, message: 'window must be lifetime or whole seconds from 1 to WINDOW_SECONDS' },
  INVALID_FORMAT: { status: 400, message: 'format must be json or hgrm' },
  INVALID_FAULT: { status: 400, message: 'mode must be throw, exit or stall (with ms=1..60000)' },
  BAD_REQUEST: { status: 400, message: 'the request is not valid HTTP/1.1' },
  UNAUTHORIZED: { status: 401, message: 'this endpoint needs Authorization: Bearer <PODMETER_ADMIN_TOKEN>' },
  RESET_DISABLED: { status: 403, message: 'POST /stats/reset is switched off (STATS_RESET=off)' },
  CROSS_ORIGIN: { status: 403, message: 'a state-changing request from a web page of another origin is refused: send it without Origin (curl), from this origin, or with the admin token' },
  NOT_FOUND: { status: 404, message: 'no such endpoint' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed on this endpoint' },
  REQUEST_TIMEOUT: { status: 408, message: 'the request did not arrive in time (HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS)' },
  BODY_TOO_LARGE: { status: 413, message: 'the request body is larger than MAX_SIZE' },
  EXPECTATION_FAILED: { status: 417, message: 'the only Expect this server meets is 100-continue' },
  HEADERS_TOO_LARGE: { status: 431, message: 'the request line and headers are larger than 16 KiB' },
  STATS_UNAVAILABLE: { status: 503, message: 'the histogram worker did not answer in time; counters are safe, retry' },
  RELAY_FAILED: { status: 502, message: 'this HTTP thread could not reach the main thread, which answers every path but /; retry' },
  SHUTTING_DOWN: { status: 503, message: 'the server is shutting down' },
  NOT_READY: { status: 503, message: 'the histogram worker is not ready yet' },
  DASHBOARD_UNAVAILABLE: { status: 500, message: 'a file of the dashboard cannot be read: the build is incomplete or uplot is not installed' }
} as const satisfies Record<string, { status: number, message: string }>

export type ErrorCode = keyof typeof ERRORS

export class ApiError extends Error {
  override readonly name = 'ApiError'
  readonly code: ErrorCode
  readonly status: number

  constructor (code: ErrorCode, message?: string) {
    super(message ?? ERRORS[code].message)
    this.code = code
    this.status = ERRORS[code].status
  }

  toJSON (): { error: { code: ErrorCode, message: string } } {
    return { error: { code: this.code, message: this.message } }
  }
}

/** A configuration value that cannot be used: start-up stops with this message. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  readonly setting: string

  constructor (setting: string, message: string) {
    super(`${setting}: ${message}`)
    this.setting = setting
  }
}
