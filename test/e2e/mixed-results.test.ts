// compare and merge refuse to mix what does not add up: closed-loop with
// open-loop results, a server's own histogram with a client's; merge warns
// when a source is counted twice.

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Running } from '../../src/main/serve.js'
import { runCli, startServer, tempFiles } from '../support/helpers.js'

// Every file a test writes, in one directory removed when the file ends.
const tmp = tempFiles('mixed')

describe('mixed results', () => {
  let pm: Running
  const closed = tmp('closed.json')
  const open = tmp('open.json')
  before(async () => {
    pm = await startServer({ delayUs: 0 })
    for (const [file, extra, label] of [[closed, ['-n', '100'], 'closed'], [open, ['--qps', '200', '-d', '300ms'], 'open']] as const) {
      const r = await runCli(['load', '-q', '--warmup', '0', '-c', '2', '--no-stats', '--label', label, ...extra, '-o', file, `${pm.url}/?delay=0`])
      assert.equal(r.code, 0, r.stderr)
    }
  })
  after(async () => { await pm.shutdown() })

  test('compare refuses closed-loop against open-loop results, unless told', async () => {
    const refused = await runCli(['compare', closed, open])
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /different kinds: closed loop \(closed round 1\) and open loop at 200 req\/s \(open round 1\)/)
    assert.match(refused.stderr, /--allow-mixed/)
    const allowed = await runCli(['compare', '--allow-mixed', closed, open])
    assert.equal(allowed.code, 0, allowed.stderr)
  })

  test('merge refuses a server\'s histogram with a client\'s, unless told', async () => {
    const refused = await runCli(['merge', pm.url, closed])
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /is a server's own histogram \(its service time\) and .*closed\.json \(e2e\) a client's/)
    const allowed = await runCli(['merge', '--allow-mixed', pm.url, closed])
    assert.equal(allowed.code, 0, allowed.stderr)
  })

  test('merge warns when a source is counted twice', async () => {
    const file = await runCli(['merge', closed, closed])
    assert.equal(file.code, 0, file.stderr)
    assert.match(file.stderr, /warning: .*closed\.json \(e2e\) is given twice: its samples are counted twice/)
    const replica = await runCli(['merge', pm.url, `${pm.url}/stats/histogram?window=lifetime`])
    assert.equal(replica.code, 0, replica.stderr)
    assert.match(replica.stderr, /warning: .* hold the same histogram .* the same replica twice\?/)
    const distinct = await runCli(['merge', closed, open])
    assert.equal(distinct.code, 0, distinct.stderr)
    assert.doesNotMatch(distinct.stderr, /warning/)
  })
})
