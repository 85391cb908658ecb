// The server's own time from a response's raw headers (undici hands them over
// as Buffers): the `dur` of the `app` entry of Server-Timing, such as
// `app;dur=0.012` (ms), returned as integer µs. Other entries and other
// Server-Timing header lines (a proxy may add its own) are skipped. Read byte
// by byte, so that nothing is allocated per response.

const NAME = 'server-timing'
const APP = [0x61, 0x70, 0x70, 0x3b, 0x64, 0x75, 0x72, 0x3d] // "app;dur="

function isServerTiming (b: Buffer): boolean {
  if (b.length !== 13) return false
  for (let i = 0; i < 13; i++) {
    // Lower-casing with | 0x20 keeps '-' (0x2d) as it is.
    if (((b[i] as number) | 0x20) !== NAME.charCodeAt(i)) return false
  }
  return true
}

/** µs, or -1 when there is no `app;dur=` entry or its value is not a plain decimal number. */
export function serverTimingUs (raw: ReadonlyArray<Buffer | string>): number {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]
    if (typeof name === 'string' ? name.toLowerCase() !== NAME : !isServerTiming(name as Buffer)) continue
    const value = raw[i + 1]
    const us = typeof value === 'string' ? fromBytes(Buffer.from(value, 'latin1')) : fromBytes(value as Buffer)
    if (us >= 0) return us
  }
  return -1
}

function fromBytes (b: Buffer): number {
  const end = b.length - APP.length
  for (let at = 0; at <= end; at++) {
    // An entry starts the value or follows a comma and optional spaces.
    let k = at - 1
    while (k >= 0 && b[k] === 0x20) k--
    if (k >= 0 && b[k] !== 0x2c) continue
    let j = 0
    while (j < APP.length && ((b[at + j] as number) | (j < 3 ? 0x20 : 0)) === APP[j]) j++
    if (j === APP.length) return parseMs(b, at + APP.length)
  }
  return -1
}

/** `12.345` (ms) at `from`, to µs rounded half up; -1 if not digits[.digits]. */
function parseMs (b: Buffer, from: number): number {
  let i = from
  let whole = 0
  let digits = 0
  while (i < b.length && (b[i] as number) >= 0x30 && (b[i] as number) <= 0x39 && digits < 12) {
    whole = whole * 10 + (b[i] as number) - 0x30
    i++
    digits++
  }
  if (digits === 0) return -1
  let us = whole * 1000
  if (b[i] === 0x2e) {
    i++
    let scale = 100
    let fraction = 0
    let roundUp = false
    let n = 0
    while (i < b.length && (b[i] as number) >= 0x30 && (b[i] as number) <= 0x39) {
      const d = (b[i] as number) - 0x30
      if (n < 3) fraction += d * scale
      else if (n === 3) roundUp = d >= 5
      scale /= 10
      i++
      n++
    }
    us += fraction + (roundUp ? 1 : 0)
  }
  if (i < b.length && b[i] !== 0x3b && b[i] !== 0x2c && b[i] !== 0x20) return -1
  return us
}
