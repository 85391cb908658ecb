// GET /dashboard without a browser: every file is served from this process
// (none from a CDN), with a strict Content-Security-Policy, and the page has
// no inline script or style that such a policy would have to allow.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Running } from '../../src/main/serve.js'
import { CONTENT_SECURITY_POLICY } from '../../src/main/dashboard.js'
import { getJson, request, ROOT, startCli, startServer, type Child } from '../support/helpers.js'

const FILES: Array<[string, RegExp]> = [
  ['/dashboard', /^text\/html; charset=utf-8$/],
  ['/dashboard/dashboard.css', /^text\/css/],
  ['/dashboard/icon.svg', /^image\/svg\+xml$/],
  ['/dashboard/app.js', /^text\/javascript/],
  ['/dashboard/charts.js', /^text\/javascript/],
  ['/dashboard/panels.js', /^text\/javascript/],
  ['/dashboard/format.js', /^text\/javascript/],
  ['/dashboard/uplot.js', /^text\/javascript/],
  ['/dashboard/uplot.css', /^text\/css/]
]

describe('GET /dashboard', () => {
  let pm: Running
  before(async () => { pm = await startServer({ delayUs: 0 }) })
  after(async () => { await pm.shutdown() })

  test('every file answers 200 with its type, nosniff and the policy', async () => {
    for (const [path, type] of FILES) {
      const r = await request(`${pm.url}${path}`)
      assert.equal(r.status, 200, path)
      assert.match(String(r.headers['content-type']), type, path)
      assert.equal(r.headers['x-content-type-options'], 'nosniff', path)
      assert.equal(r.headers['content-security-policy'], CONTENT_SECURITY_POLICY, path)
      assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body), path)
      assert.ok(r.body.length > 100, path)
    }
    assert.match(CONTENT_SECURITY_POLICY, /^default-src 'self'; script-src 'self'; style-src 'self';/)
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe|\*|https?:|data:/)
  })

  test('the page has no inline script, style or handler, and loads nothing from elsewhere', async () => {
    const html = (await request(`${pm.url}/dashboard`)).body
    const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)]
    assert.equal(scripts.length, 2)
    for (const [tag, body] of scripts) {
      assert.match(tag, / src="dashboard\/[a-z]+\.js"/)
      assert.equal(body, '')
    }
    assert.doesNotMatch(html, /<style|style=|\son[a-z]+=|javascript:/i)
    // Relative links only, so the page also works behind a path prefix.
    for (const [, url] of html.matchAll(/(?:src|href)="([^"]*)"/g)) assert.match(url as string, /^dashboard\/[a-z]+\.(js|css|svg)$/)
  })

  test('uPlot comes from node_modules, and is a runtime dependency', async () => {
    const require = createRequire(import.meta.url)
    const served = (await request(`${pm.url}/dashboard/uplot.js`)).body
    assert.equal(served, readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'))
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
    assert.ok('uplot' in pkg.dependencies)
  })

  test('revalidation: the same ETag gets 304, without a body', async () => {
    const first = await request(`${pm.url}/dashboard/uplot.js`)
    const etag = String(first.headers.etag)
    assert.match(etag, /^"[\w-]{27}"$/)
    const again = await request(`${pm.url}/dashboard/uplot.js`, { headers: { 'if-none-match': etag } })
    assert.equal(again.status, 304)
    assert.equal(again.body, '')
    assert.equal(first.headers['cache-control'], 'no-cache')
  })

  test('HEAD, a trailing slash, unknown files and wrong methods', async () => {
    const head = await request(`${pm.url}/dashboard`, { method: 'HEAD' })
    assert.equal(head.status, 200)
    assert.equal(head.body, '')
    const slash = await request(`${pm.url}/dashboard/`)
    assert.equal(slash.status, 308)
    assert.equal(slash.headers.location, '../dashboard')
    const unknown = await request(`${pm.url}/dashboard/../../etc/passwd`)
    assert.equal(unknown.status, 404)
    assert.equal(JSON.parse(unknown.body).error.code, 'NOT_FOUND')
    const post = await request(`${pm.url}/dashboard`, { method: 'POST' })
    assert.equal(post.status, 405)
    assert.equal(post.headers.allow, 'GET')
  })

  test('serving the page measures nothing', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    for (const [path] of FILES) await request(`${pm.url}${path}`)
    const s = await getJson(`${pm.url}/stats`)
    assert.equal(s.requests, 0)
    assert.ok(s.unmeasured_requests >= FILES.length)
  })
})

describe('the dashboard from the built CLI', () => {
  let cli: Child
  before(async () => { cli = await startCli(['--envoy-admin', 'off']) })
  after(async () => { cli.child.kill('SIGTERM'); await cli.exit })

  test('dist/ holds every file the page loads', async () => {
    for (const [path] of FILES) assert.equal((await request(`${cli.url}${path}`)).status, 200, path)
  })
})
