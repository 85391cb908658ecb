// The server's own time from a response's Server-Timing header: the `dur` of
// its `app` entry, such as `app;dur=0.012` (ms), returned as integer µs.
// Other entries, and other Server-Timing lines (a proxy may add its own), are
// skipped. undici hands the header over as a string, or as an array when the
// response has several lines; it is read character by character, so nothing
// is allocated per response.

const APP = 'app;dur='

/** µs, or -1 when there is no `app;dur=` entry or its value is not a plain decimal number. */
export function serverTimingUs (header: string | readonly string[] | undefined): number {
  if (header === undefined) return -1
  if (typeof header === 'string') return fromValue(header)
  for (const line of header) {
    const us = fromValue(line)
    if (us >= 0) return us
  }
  return -1
}

function fromValue (v: string): number {
  const end = v.length - APP.length
  for (let at = 0; at <= end; at++) {
    // An entry starts the value or follows a comma and optional spaces.
    let k = at - 1
    while (k >= 0 && v.charCodeAt(k) === 0x20) k--
    if (k >= 0 && v.charCodeAt(k) !== 0x2c) continue
    let j = 0
    // The name is case-insensitive (| 0x20 lower-cases a letter); `;dur=` is not.
    while (j < APP.length && (v.charCodeAt(at + j) | (j < 3 ? 0x20 : 0)) === APP.charCodeAt(j)) j++
    if (j === APP.length) return parseMs(v, at + APP.length)
  }
  return -1
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39

/** `12.345` (ms) at `from`, to µs rounded half up; -1 if not digits[.digits]. */
function parseMs (v: string, from: number): number {
  let i = from
  let whole = 0
  let digits = 0
  while (i < v.length && isDigit(v.charCodeAt(i)) && digits < 12) {
    whole = whole * 10 + v.charCodeAt(i) - 0x30
    i++
    digits++
  }
  if (digits === 0) return -1
  let us = whole * 1000
  if (v.charCodeAt(i) === 0x2e) {
    i++
    let scale = 100
    let fraction = 0
    let roundUp = false
    let n = 0
    while (i < v.length && isDigit(v.charCodeAt(i))) {
      const d = v.charCodeAt(i) - 0x30
      if (n < 3) fraction += d * scale
      else if (n === 3) roundUp = d >= 5
      scale /= 10
      i++
      n++
    }
    us += fraction + (roundUp ? 1 : 0)
  }
  const next = v.charCodeAt(i)
  if (i < v.length && next !== 0x3b && next !== 0x2c && next !== 0x20) return -1
  return us
}
