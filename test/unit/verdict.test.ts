import assert from 'node:assert/strict'
import { test } from 'node:test'
import { balancedOrder } from '../../src/cli/compare.js'
import { DEFAULT_ALPHA, judge, minRounds, spreadOf, verdictText, type Wording } from '../../src/cli/verdict.js'

const MS: Wording = { unit: 'ms', digits: 3, words: ['slower', 'faster'] }

/** A seeded generator (mulberry32) and normal draws (Box–Muller): the simulation is the same on every run. */
function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
function normals (next: () => number, n: number, mean: number, sd: number): number[] {
  return Array.from({ length: n }, () => mean + sd * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()))
}

test('median and spread of rounds', () => {
  assert.deepEqual(spreadOf([3, 1, 2]), { n: 3, median: 2, min: 1, max: 3 })
  assert.deepEqual(spreadOf([4, 1, 2, 3]), { n: 4, median: 2.5, min: 1, max: 4 })
  assert.equal(spreadOf([]), null)
})

test('the exact rank-sum p-value and the Hodges–Lehmann interval', () => {
  // Complete separation, 5 a side: 2 of the C(10, 5) = 252 splits are as extreme.
  const v = judge([1, 2, 3, 4, 5], [11, 12, 13, 14, 15])
  assert.ok(Math.abs((v.p as number) - 2 / 252) < 1e-12, String(v.p))
  assert.equal(v.significant, true)
  // k = 3 for 5 and 5 at 5 %: the 3rd and the 23rd of the 25 sorted differences (6, 7, 7, …, 13, 13, 14).
  assert.equal(v.low, 7)
  assert.equal(v.high, 13)
  assert.equal(v.diff, 10)
  // Interleaved rounds: nothing to see.
  const same = judge([1, 3, 5, 7, 9], [2, 4, 6, 8, 10])
  assert.equal(same.significant, false)
  assert.ok((same.low as number) < 0 && (same.high as number) > 0, 'the interval holds 0')
  // Ties get mid-ranks: all equal is p = 1.
  assert.equal(judge([2, 2, 2, 2], [2, 2, 2, 2]).p, 1)
})

test('too few rounds for the level give no verdict, and say how many are needed', () => {
  assert.equal(minRounds(0.05), 4)
  assert.equal(minRounds(0.01), 5)
  const v = judge([1, 2, 3], [10, 11, 12])
  assert.equal(v.significant, null)
  assert.equal(verdictText(v, MS), 'no verdict: 3 rounds a side cannot show a difference at the 95 % level (need 4)')
  assert.equal(judge([1, 2, 3, 4], [10, 11, 12, 13]).significant, true, '4 a side can reach 5 %')
})

test('verdict texts name the direction, the size, the interval and p', () => {
  const slower = judge([0.10, 0.11, 0.12, 0.10, 0.11], [2.10, 2.12, 2.11, 2.15, 2.10])
  assert.equal(verdictText(slower, MS), 'slower by 2.000 ms (×19; 95 % CI 1.990 to 2.040 ms, p = 0.008)')
  const faster = judge([2, 2.1, 2.2, 2.3], [1, 1.05, 1.1, 1.15])
  assert.match(verdictText(faster, MS), /^faster by 1\.075 ms \(-50\.0 %; 95 % CI -1\.300 to -0\.850 ms, p = 0\.029\)$/)
  assert.match(verdictText(judge([1, 3, 5, 7, 9], [2, 4, 6, 8, 10]), MS), /^no significant difference \(95 % CI -[\d.]+ to [\d.]+ ms, p = /)
  const memory = verdictText(judge([80, 81, 80, 82, 81], [85, 84, 86, 85, 85]), { unit: 'MiB', digits: 1, words: ['more', 'less'], perProcess: true })
  assert.match(memory, /^per process: \+4\.0 MiB \(one process a side: not a difference between modes; 95 % CI/)
})

test('simulated: identical targets are called different in at most 5 % of compares', () => {
  // The exact test's size is at most 5 % by construction; 2,000 simulated
  // compares estimate it within about ±1 % (two standard errors).
  const next = rng(1)
  for (const rounds of [5, 10, 20, 30, 80]) {
    let claimed = 0
    const trials = 2000
    for (let t = 0; t < trials; t++) {
      const v = judge(normals(next, rounds, 20, 0.3), normals(next, rounds, 20, 0.3))
      if (v.significant === true) claimed++
    }
    assert.ok(claimed <= trials * 0.06, `${rounds} rounds a side: ${claimed} of ${trials} identical compares called significant`)
  }
})

test('simulated: with 5 rounds, a shift of 3 × the round-to-round spread is found at least 75 % of the time, and more with more rounds', () => {
  const next = rng(2)
  const power = (rounds: number, shift: number): number => {
    let found = 0
    for (let t = 0; t < 1000; t++) {
      const v = judge(normals(next, rounds, 20, 1), normals(next, rounds, 20 + shift, 1))
      if (v.significant === true && v.diff > 0) found++
    }
    return found / 1000
  }
  const five = power(5, 3)
  assert.ok(five >= 0.75, `5 rounds, 3σ: found ${five}`)
  const ten = power(10, 1.5)
  assert.ok(ten >= power(5, 1.5), 'more rounds, more power')
})

test('one cold round does not erase a real difference once there are rounds enough', () => {
  // +2.47 ms on the p50 and one baseline round 10 ms cold: the old rule
  // (difference > both spreads added) called it noise however many rounds ran.
  const a = [20.1, 20.2, 30.0, 20.15, 20.12, 20.18, 20.11, 20.16]
  const b = [22.6, 22.65, 22.58, 22.7, 22.62, 22.61, 22.66, 22.59]
  const v = judge(a, b)
  assert.equal(v.significant, true)
  assert.ok(v.diff > 2.4 && v.diff < 2.6)
  assert.ok((v.low as number) > 2 && (v.high as number) < 2.7, `interval ${v.low as number} to ${v.high as number}`)
})

test('a balanced order: each target runs first as often as last', () => {
  assert.deepEqual([0, 1, 2, 3].map((r) => balancedOrder(2, r)), [[0, 1], [1, 0], [1, 0], [0, 1]])
  const firsts = [0, 0, 0]
  for (let r = 0; r < 6; r++) {
    const first = balancedOrder(3, r)[0] as number
    firsts[first] = (firsts[first] ?? 0) + 1
  }
  assert.deepEqual(firsts, [2, 2, 2])
  assert.equal(DEFAULT_ALPHA, 0.05)
})
