// src/main/gen/ is generated from proto/ (the official metrics.proto) by
// `npm run proto` and committed; regenerating gives the same bytes.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ROOT } from '../support/helpers.js'

const FILE = 'src/main/gen/io/prometheus/client/metrics_pb.ts'

test('the generated metrics_pb.ts is what buf generates from proto/', () => {
  const out = mkdtempSync(join(tmpdir(), 'podmeter-proto-'))
  try {
    const bin = join(ROOT, 'node_modules/.bin')
    const r = spawnSync(join(bin, 'buf'), ['generate', '-o', out], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` } })
    assert.equal(r.status, 0, `buf generate: ${r.stderr}`)
    assert.equal(readFileSync(join(out, FILE), 'utf8'), readFileSync(join(ROOT, FILE), 'utf8'))
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
})
