// Whether a state-changing request (POST /stats/reset, the fault route) came
// from a web page of another site. A browser adds `Origin` to every POST and,
// today, `Sec-Fetch-Site`; page script can set neither. Without the admin
// token, a page the operator opens elsewhere could otherwise reset a run with
// a form or a no-cors fetch (no preflight is needed for those). curl, load
// tools and scripts send neither header and are never refused here.
//
// Refused: `Sec-Fetch-Site` other than `same-origin` or `none` (`same-site`
// is still another origin); `Origin: null` (a sandboxed frame, a file, a
// redirect across origins: nothing to trust); an `Origin` whose host and port
// are not this request's `Host`. The scheme is not compared: TLS may end at a
// gateway, so the server cannot know which one the browser used.

import type { IncomingMessage } from 'node:http'

const ORIGIN = /^(https?):\/\/([^/?#@\s]+)$/i

const quote = (text: string): string => JSON.stringify(text.slice(0, 100))

/** Why `req` looks cross-site, or undefined when it does not. */
export function crossSite (req: IncomingMessage): string | undefined {
  const site = req.headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `it says Sec-Fetch-Site: ${quote(site)}`
  const origin = req.headers.origin
  if (origin === undefined) return undefined
  const m = ORIGIN.exec(origin)
  if (m === null) return `its Origin ${quote(origin)} is not an http(s) origin`
  const scheme = (m[1] as string).toLowerCase()
  const host = req.headers.host
  if (host === undefined || authority(m[2] as string, scheme) !== authority(host, scheme)) {
    return `its Origin ${quote(origin)} is not this server (Host ${quote(host ?? '')})`
  }
  return undefined
}

/** host[:port] in lower case, without the scheme's default port. */
function authority (hostPort: string, scheme: string): string {
  const lower = hostPort.toLowerCase()
  const port = scheme === 'https' ? ':443' : ':80'
  return lower.endsWith(port) ? lower.slice(0, -port.length) : lower
}
