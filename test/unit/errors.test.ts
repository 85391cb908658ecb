import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { ApiError, ERRORS, type ErrorCode } from '../../src/shared/errors.js'
import { ROOT } from '../support/helpers.js'

test('every error code has a status, a message, and is documented', () => {
  const docs = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(ROOT, 'docs', f))
  const readme = [join(ROOT, 'README.md'), ...docs].map((f) => readFileSync(f, 'utf8')).join('\n')
  for (const [code, e] of Object.entries(ERRORS)) {
    assert.match(code, /^[A-Z_]+$/)
    assert.ok(e.status >= 400 && e.status <= 599, code)
    assert.ok(e.message.length > 10, code)
    assert.ok(readme.includes(`\`${code}\``), `the README or docs/ document ${code}`)
  }
})

test('ApiError serialises to the documented body', () => {
  const e = new ApiError('INVALID_DELAY' as ErrorCode, 'custom')
  assert.deepEqual(JSON.parse(JSON.stringify(e)), { error: { code: 'INVALID_DELAY', message: 'custom' } })
  assert.equal(e.status, 400)
})
