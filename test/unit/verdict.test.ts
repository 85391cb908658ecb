import assert from 'node:assert/strict'
import { test } from 'node:test'
import { judge, MIN_ROUNDS, spreadOf, verdictText, type Spread, type Wording } from '../../src/cli/verdict.js'

const MS: Wording = { unit: 'ms', digits: 3, words: ['slower', 'faster'] }
const s = (...v: number[]): Spread => spreadOf(v) as Spread

test('median and spread of rounds', () => {
  assert.deepEqual(spreadOf([3, 1, 2]), { n: 3, median: 2, min: 1, max: 3 })
  assert.deepEqual(spreadOf([4, 1, 2, 3]), { n: 4, median: 2.5, min: 1, max: 4 })
  assert.equal(spreadOf([]), null)
})

test('a difference within both spreads added is no significant difference', () => {
  const v = judge(s(1.0, 1.1, 1.2), s(1.15, 1.25, 1.3))
  assert.equal(v.significant, false)
  assert.ok(Math.abs(v.noise - 0.35) < 1e-9)
  assert.match(verdictText(v, MS, [3, 3]), /^no significant difference \(within 0\.350 ms of noise\)$/)
})

test('a difference beyond the noise is named, with its size and direction', () => {
  const slower = judge(s(0.10, 0.11, 0.12, 0.10, 0.11), s(2.10, 2.12, 2.11, 2.15, 2.10))
  assert.equal(slower.significant, true)
  assert.equal(verdictText(slower, MS, [5, 5]), 'slower by 2.000 ms (×19)')
  const faster = judge(s(2, 2.1, 2.2), s(1, 1.05, 1.1))
  assert.equal(verdictText(faster, MS, [3, 3]), 'faster by 1.050 ms (-50.0 %)')
  const rate = judge(s(100, 101, 102), s(120, 121, 122))
  assert.equal(verdictText(rate, { unit: 'req/s', digits: 1, words: ['higher', 'lower'] }, [3, 3]), 'higher by 20.0 req/s (+19.8 %)')
})

test(`under ${MIN_ROUNDS} rounds a side there is no verdict`, () => {
  const v = judge(s(1), s(5))
  assert.equal(v.significant, null)
  assert.match(verdictText(v, MS, [1, 1]), /^no verdict: 1 round, noise unknown/)
  assert.equal(verdictText(judge(s(0, 0, 0), s(0, 0, 0)), MS, [3, 3]), 'no difference')
})
