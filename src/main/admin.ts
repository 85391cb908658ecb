// Who may change the server's state: POST /stats/reset (which wipes a run's
// figures) and the fault routes. Reading is open to anyone who can reach the
// pod; changing needs `Authorization: Bearer <PODMETER_ADMIN_TOKEN>` once a
// token is set (without one, a web page of another origin may not), and the
// reset can be switched off outright.

import type { IncomingMessage } from 'node:http'
import { ApiError } from '../shared/errors.js'
import { crossSite } from './cross-site.js'

/** What a refused caller gets: the error, and the headers that go with it. */
export interface Refusal { error: ApiError, headers: Record<string, string> }

const REALM = 'Bearer realm="podmeter"'
const BEARER = /^Bearer +([\w.~+/-]+=*) *$/i

export class AdminGate {
  /** SHA-256 of the token, or undefined when none is set. */
  readonly #digest: Buffer | undefined
  readonly #resetOn: boolean

  constructor (options: { adminToken: string, statsReset: boolean }) {
    this.#digest = options.adminToken === '' ? undefined : sha256(options.adminToken)
    this.#resetOn = options.statsReset
  }

  get tokenRequired (): boolean {
    return this.#digest !== undefined
  }

  /** Undefined when `req` may reset the figures. */
  reset (req: IncomingMessage): Refusal | undefined {
    if (!this.#resetOn) return { error: new ApiError('RESET_DISABLED'), headers: {} }
    return this.admin(req, 'POST /stats/reset')
  }

  /**
   * Undefined when `req` carries the admin token, or when none is set and
   * `req` does not come from a web page of another origin (cross-site.ts):
   * the token is then the only thing that could authorise such a page.
   */
  admin (req: IncomingMessage, what: string): Refusal | undefined {
    if (this.#digest === undefined) {
      const why = crossSite(req)
      if (why === undefined) return undefined
      return { error: new ApiError('CROSS_ORIGIN', `${what} is refused because ${why}: a web page elsewhere may not change this server; send it without Origin (curl), from this origin, or set PODMETER_ADMIN_TOKEN and send the token`), headers: {} }
    }
    const header = req.headers.authorization
    if (header === undefined) {
      return { error: new ApiError('UNAUTHORIZED', `${what} needs Authorization: Bearer <PODMETER_ADMIN_TOKEN>`), headers: { 'www-authenticate': REALM } }
    }
    const m = header.length <= 1024 ? BEARER.exec(header) : null
    // Both sides are hashed to 32 bytes first: timingSafeEqual needs equal
    // lengths, and comparing digests leaks neither the token nor its length.
    if (m === null || !crypto().timingSafeEqual(sha256(m[1] as string), this.#digest)) {
      return {
        error: new ApiError('UNAUTHORIZED', `${what}: the bearer token is not PODMETER_ADMIN_TOKEN`),
        headers: { 'www-authenticate': `${REALM}, error="invalid_token"` }
      }
    }
    return undefined
  }
}

// node:crypto is loaded only once a token is set: it initialises OpenSSL,
// about 1 MiB of RSS that a server without a token never needs.
function crypto (): typeof import('node:crypto') {
  return process.getBuiltinModule('node:crypto')
}

function sha256 (text: string): Buffer {
  return crypto().createHash('sha256').update(text, 'utf8').digest()
}
