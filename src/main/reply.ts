// How the server answers off the hot path: every JSON body goes through
// json(), with these headers (nosniff and no-store included).

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ApiError } from '../shared/errors.js'

export const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' } as const

/**
 * JSON that stays inert wherever it ends up: `<`, `>` and `&` escaped, so
 * text echoed from a request (a path in a 404, a header in /debug/headers)
 * can never become markup if something renders the body as HTML; U+2028 and
 * U+2029 escaped, so the body is also valid JavaScript. JSON.parse reads it
 * back unchanged.
 */
export function json (value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
}

export function sendJson (res: ServerResponse, status: number, value: unknown, extra?: Record<string, string>): void {
  const body = json(value)
  res.writeHead(status, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(body), ...extra })
  res.end(body)
}

export function sendText (res: ServerResponse, status: number, contentType: string, body: string | Buffer, extra?: Record<string, string>): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'x-content-type-options': 'nosniff', 'cache-control': 'no-store', ...extra })
  res.end(body)
}

export function sendError (res: ServerResponse, err: ApiError, extra?: Record<string, string>): void {
  sendJson(res, err.status, err.toJSON(), extra)
}

/** A slow-path endpoint: path → method → handler. */
export type Handler = (req: IncomingMessage, res: ServerResponse) => void
export type Routes = Record<string, Record<string, Handler>>
