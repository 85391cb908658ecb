// `header=Name:Value` of `/`, Fortio's spelling (`&header=Foo:Bar&header=X:Y`):
// response headers a request asks for. Fortio adds whatever it is given and
// drops a malformed one silently; here each is checked, and a request with
// one that cannot be sent as it is gets 400 and a code, never a header
// other than the one asked for:
//
// - the name is an RFC 9110 token (5.6.2), the value a field-value (5.5):
//   visible ASCII, spaces and tabs inside; the spaces around it are dropped,
//   as Go (Fortio) drops them. No CR, LF, NUL or other control character,
//   so no header can be smuggled in, and nothing beyond ASCII, which a
//   header cannot carry as the text it was;
// - framing and hop-by-hop headers, and Server-Timing (the server time of
//   docs/stats.md), are PodMeter's to set: refused;
// - at most MAX_HEADERS of them, MAX_HEADER_BYTES of names and values in
//   all. Content-Type replaces the default one, once; any other name may
//   repeat, each a line of its own.

import { ApiError } from '../shared/errors.js'

export const MAX_HEADERS = 16
export const MAX_HEADER_BYTES = 4096

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** Visible ASCII, with spaces and tabs between (OWS around is trimmed first). */
const FIELD_VALUE = /^(?:[\x21-\x7e](?:[\t\x20-\x7e]*[\x21-\x7e])?)?$/

/** `text` without the spaces and tabs around it (a loop: a regex for the trailing ones is quadratic). */
function trimOws (text: string): string {
  let start = 0
  let end = text.length
  while (start < end && (text.charCodeAt(start) === 32 || text.charCodeAt(start) === 9)) start++
  while (end > start && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--
  return text.slice(start, end)
}

/** Lower-case names header= may not set: what frames the message or belongs to one hop, and Server-Timing. */
export const RESERVED = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'server-timing'])

export interface AskedHeaders {
  /** Name, value, name, value…: the request's headers but Content-Type, in order. */
  readonly flat: readonly string[]
  /** Content-Type asked for, which replaces the default. */
  readonly contentType: string | undefined
}

export const NO_HEADERS: AskedHeaders = { flat: [], contentType: undefined }

const quote = (text: string): string => JSON.stringify(text.slice(0, 64))

/** Whether `text` is a field-value this server sends as it is (visible ASCII, spaces inside). */
export function fieldValue (text: string): boolean {
  return FIELD_VALUE.test(text)
}

/** The headers of the decoded `header=` values, or the ApiError to answer with. */
export function askedHeaders (values: readonly string[]): AskedHeaders | ApiError {
  if (values.length === 0) return NO_HEADERS
  if (values.length > MAX_HEADERS) return new ApiError('INVALID_HEADER', `at most ${MAX_HEADERS} header= parameters, not ${values.length}`)
  const flat: string[] = []
  let contentType: string | undefined
  let bytes = 0
  for (const text of values) {
    const colon = text.indexOf(':')
    if (colon < 0) return new ApiError('INVALID_HEADER', `header=${quote(text)} is not Name:Value`)
    const name = text.slice(0, colon)
    const value = trimOws(text.slice(colon + 1))
    if (!TOKEN.test(name)) return new ApiError('INVALID_HEADER', `header name ${quote(name)} is not a token (RFC 9110, 5.6.2)`)
    if (!FIELD_VALUE.test(value)) return new ApiError('INVALID_HEADER', `the value of header ${quote(name)} has a character a header value cannot carry (a control character such as CR or LF, or one beyond ASCII; RFC 9110, 5.5)`)
    const lower = name.toLowerCase()
    if (RESERVED.has(lower)) return new ApiError('HEADER_NOT_ALLOWED', `header=${quote(name)}: ${name} is set by PodMeter (framing, hop-by-hop, or the server time), not by a request`)
    bytes += name.length + value.length
    if (bytes > MAX_HEADER_BYTES) return new ApiError('INVALID_HEADER', `the header= names and values add up to more than ${MAX_HEADER_BYTES} bytes`)
    if (lower === 'content-type') {
      if (contentType !== undefined) return new ApiError('INVALID_HEADER', 'Content-Type is asked for twice: a response has one')
      contentType = value
    } else {
      flat.push(name, value)
    }
  }
  return { flat, contentType }
}
