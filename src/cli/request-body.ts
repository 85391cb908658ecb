// The method and request body of a load run: -b TEXT, --body-file PATH or
// --body-size SIZE (a deterministic body of that many bytes), at most one of
// them, never with a method whose requests carry none. The body is built
// once per run: every request sends the same Buffer, and both transports
// frame it with its Content-Length.

import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs'
import { parseSize } from '../shared/size.js'
import { UsageError } from './args.js'

/** The largest request body, bytes (64 MiB): it is held in memory for the whole run. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/
/** RFC 9110 §9.3: GET and HEAD content has no defined meaning (and proxies may drop it); a TRACE request must not carry any. */
const NO_BODY = new Set(['GET', 'HEAD', 'TRACE'])
/** Methods whose requests have content by definition: without a body flag they send an empty one, `Content-Length: 0` (RFC 9110 §8.6). */
const EXPECTS_BODY = new Set(['POST', 'PUT', 'PATCH'])

const ALPHABET = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1')

/**
 * `size` bytes of printable text from a fixed-seed xorshift32: the same bytes
 * on every run and machine (each size a prefix of every larger one), and
 * about 6 bits of entropy a byte, so a compressing proxy cannot shrink it to
 * nothing.
 */
export function generatedBody (size: number): Buffer {
  const out = Buffer.allocUnsafe(size)
  let x = 0x9e3779b9
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = ALPHABET[x & 63] as number
  }
  return out
}

export interface BodyFlags {
  /** -m, as given; default GET. */
  method: string | undefined
  /** -b TEXT, sent as UTF-8. */
  text: string | undefined
  /** --body-file PATH. */
  file: string | undefined
  /** --body-size SIZE, as given. */
  size: string | undefined
}

/** The method (upper case) and body of a run; throws a UsageError naming the flags at fault. */
export function requestBody (flags: BodyFlags): { method: string, body: Buffer | undefined } {
  const method = (flags.method ?? 'GET').toUpperCase()
  if (!TOKEN.test(method)) throw new UsageError(`-m/--method: ${JSON.stringify(flags.method)} is not an HTTP method (like GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)`)
  if (method === 'CONNECT') throw new UsageError('-m/--method: CONNECT opens a tunnel, it has no answer to measure; give a method like GET, POST or PUT')
  const given = [['-b/--body', flags.text], ['--body-file', flags.file], ['--body-size', flags.size]].filter(([, v]) => v !== undefined).map(([name]) => name as string)
  if (given.length > 1) throw new UsageError(`${given.join(' and ')} exclude each other: give one body`)
  if (given.length === 1 && NO_BODY.has(method)) {
    throw new UsageError(`${given[0] as string}: a ${method} request carries no body; give -m POST (or PUT, PATCH…) with it`)
  }
  let body: Buffer | undefined
  if (flags.text !== undefined) body = Buffer.from(flags.text, 'utf8')
  else if (flags.file !== undefined) body = readBodyFile(flags.file)
  else if (flags.size !== undefined) {
    const size = parseSize(flags.size)
    if (size === undefined || size > MAX_BODY_BYTES) {
      throw new UsageError(`--body-size: ${JSON.stringify(flags.size)} is not a size from 0 to 64MiB (like 1024, 1k, 64KiB, 1MiB; every unit a power of 1024, as in /?size=)`)
    }
    body = generatedBody(size)
  } else if (EXPECTS_BODY.has(method)) body = Buffer.alloc(0)
  if (body !== undefined && body.length > MAX_BODY_BYTES) throw new UsageError(`${given[0] as string}: the body is ${body.length} bytes, over the ${MAX_BODY_BYTES} (64 MiB) a run holds in memory`)
  return { method, body }
}

/** A regular file of at most MAX_BODY_BYTES, read once; anything else is refused before a request is sent. */
function readBodyFile (path: string): Buffer {
  let fd: number
  try {
    // Non-blocking, so that a FIFO is refused below instead of waiting for a writer.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message
    throw new UsageError(`--body-file: cannot read ${JSON.stringify(path)}: ${why}`)
  }
  try {
    const st = fstatSync(fd)
    // A folder, a FIFO or /dev/zero has no size to announce in Content-Length.
    if (!st.isFile()) throw new UsageError(`--body-file: ${JSON.stringify(path)} is not a regular file`)
    if (st.size > MAX_BODY_BYTES) throw new UsageError(`--body-file: ${JSON.stringify(path)} is ${st.size} bytes, over the ${MAX_BODY_BYTES} (64 MiB) a run holds in memory`)
    return readFileSync(fd)
  } finally {
    closeSync(fd)
  }
}
