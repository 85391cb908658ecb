import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { ApiError, ERRORS, type ErrorCode } from '../src/shared/errors.js'
import { ROOT } from './helpers.js'

test('every error code has a status, a message, and is documented in the README', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  for (const [code, e] of Object.entries(ERRORS)) {
    assert.match(code, /^[A-Z_]+$/)
    assert.ok(e.status >= 400 && e.status <= 599, code)
    assert.ok(e.message.length > 10, code)
    assert.ok(readme.includes(`\`${code}\``), `README documents ${code}`)
  }
})

test('ApiError serialises to the documented body', () => {
  const e = new ApiError('INVALID_DELAY' as ErrorCode, 'custom')
  assert.deepEqual(JSON.parse(JSON.stringify(e)), { error: { code: 'INVALID_DELAY', message: 'custom' } })
  assert.equal(e.status, 400)
})
