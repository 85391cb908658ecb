// The bodies of `size=`: N bytes of one fixed pseudo-random sequence (the
// same bytes in every pod and every run, and incompressible, as Fortio's),
// served as slices of one buffer. The buffer is made on the first `size=`
// that needs it and grows by powers of two up to MAX_SIZE, at most about 30
// times in a process' life; a request never builds a body, it gets the
// cached view of its size. A server that never sees `size=` holds nothing.

/** A body ready to send: its bytes and its Content-Length value. */
export interface Payload {
  readonly body: Buffer
  readonly length: string
}

/** Distinct sizes kept; a client that asks for endless sizes costs a view each, never memory. */
const CACHE_SIZE = 256
const SEED = 0x9e3779b9

/** `n` bytes of the sequence: xorshift32 from SEED, four bytes a step. */
function fill (n: number): Buffer {
  const out = Buffer.allocUnsafeSlow(n)
  let x = SEED
  let i = 0
  for (; i + 4 <= n; i += 4) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    out.writeInt32LE(x | 0, i)
  }
  x ^= x << 13; x ^= x >>> 17; x ^= x << 5
  for (let k = 0; i < n; i++, k += 8) out[i] = (x >>> k) & 0xff
  return out
}

export class Payloads {
  /** MAX_SIZE, in bytes. */
  readonly max: number
  #bytes: Buffer = Buffer.alloc(0)
  readonly #cache = new Map<number, Payload>()

  constructor (max: number) {
    this.max = max
  }

  /** The body of `n` bytes, 0 ≤ n ≤ max (the query parser has checked). */
  get (n: number): Payload {
    const hit = this.#cache.get(n)
    if (hit !== undefined) return hit
    if (n > this.#bytes.length) {
      // Views made before keep the old buffer alive: it holds the same bytes.
      this.#bytes = fill(Math.min(this.max, 2 ** Math.ceil(Math.log2(Math.max(n, 1024)))))
      this.#cache.clear()
    }
    if (this.#cache.size >= CACHE_SIZE) this.#cache.clear()
    const payload = { body: this.#bytes.subarray(0, n), length: String(n) }
    this.#cache.set(n, payload)
    return payload
  }
}
