// GET /dashboard: a page that polls /stats and /stats/histogram once a second
// and draws them with uPlot. Everything it needs is served from here, never
// from a CDN (clusters are often offline): the page and its stylesheet
// (dashboard-page.ts), the compiled browser code (src/dashboard, built by
// tsconfig.dashboard.json next to this file in dist/) and uPlot from
// node_modules (a runtime dependency). Files are read on first use and kept.
//
// The page is locked down: a Content-Security-Policy without inline script or
// style, and the browser code writes every value with textContent, so nothing
// a request header or pod label carries can become markup.
//
// What only a dashboard request needs is loaded on the first one: the page
// itself (dashboard-page.ts) and node:crypto for the ETags, which initialises
// OpenSSL (about 1 MiB of RSS a server nobody opens the dashboard of never
// needs).

import { readFile } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { fileURLToPath } from 'node:url'
import { ApiError } from '../shared/errors.js'
import type { Routes } from './reply.js'

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join('; ')

const JS = 'text/javascript; charset=utf-8'
const CSS = 'text/css; charset=utf-8'

interface Asset { type: string, load: () => Promise<string | Buffer> }

const compiled = (name: string): Asset => ({
  type: JS,
  load: async () => await readFile(fileURLToPath(new URL(`../dashboard/${name}`, import.meta.url)))
})
const fromPackage = (type: string, id: string): Asset => ({
  type,
  load: async () => await readFile(process.getBuiltinModule('node:module').createRequire(import.meta.url).resolve(id))
})
const page = async (): Promise<typeof import('./dashboard-page.js')> => await import('./dashboard-page.js')

/** Every path the dashboard serves; nothing else under /dashboard exists. */
const ASSETS: Record<string, Asset> = {
  '/dashboard': { type: 'text/html; charset=utf-8', load: async () => (await page()).DASHBOARD_HTML },
  '/dashboard/dashboard.css': { type: CSS, load: async () => (await page()).DASHBOARD_CSS },
  '/dashboard/icon.svg': { type: 'image/svg+xml', load: async () => (await page()).DASHBOARD_ICON },
  '/dashboard/app.js': compiled('app.js'),
  '/dashboard/charts.js': compiled('charts.js'),
  '/dashboard/panels.js': compiled('panels.js'),
  '/dashboard/format.js': compiled('format.js'),
  // The IIFE build defines the global uPlot for the module scripts.
  '/dashboard/uplot.js': fromPackage(JS, 'uplot/dist/uPlot.iife.min.js'),
  '/dashboard/uplot.css': fromPackage(CSS, 'uplot/dist/uPlot.min.css')
}

interface Loaded { body: Buffer, etag: string }

const HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  // Revalidated on every load (ETag), so a new build shows at once.
  'cache-control': 'no-cache'
}

/**
 * The dashboard's routes for the server's ROUTES table. `fail` answers an
 * error (the server's sendError).
 */
export function dashboardRoutes (fail: (res: ServerResponse, err: ApiError) => void): Routes {
  const cache = new Map<string, Promise<Loaded>>()

  function load (path: string, asset: Asset): Promise<Loaded> {
    let loaded = cache.get(path)
    if (loaded === undefined) {
      loaded = Promise.all([asset.load(), import('node:crypto')]).then(([data, { createHash }]) => {
        const body = typeof data === 'string' ? Buffer.from(data) : data
        return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` }
      })
      // A file that could not be read is tried again on the next request.
      loaded.catch(() => cache.delete(path))
      cache.set(path, loaded)
    }
    return loaded
  }

  const routes: Routes = {}
  for (const [path, asset] of Object.entries(ASSETS)) {
    routes[path] = {
      GET: (req, res) => {
        load(path, asset).then(({ body, etag }) => {
          if (req.headers['if-none-match'] === etag) {
            res.writeHead(304, { ...HEADERS, etag })
            res.end()
            return
          }
          res.writeHead(200, { ...HEADERS, 'content-type': asset.type, 'content-length': body.length, etag })
          res.end(body)
        }, (err: Error) => {
          fail(res, new ApiError('DASHBOARD_UNAVAILABLE', `${path} cannot be served (${err.message}); is the build complete (npm run build) and uplot installed?`))
        })
      }
    }
  }
  // Relative links in the page resolve from /dashboard, not /dashboard/.
  routes['/dashboard/'] = {
    GET: (_req, res) => {
      res.writeHead(308, { location: '../dashboard', 'content-length': 0 })
      res.end()
    }
  }
  return routes
}
