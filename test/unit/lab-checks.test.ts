import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Comparison } from '../../src/cli/comparison.js'
import type { LoadResult } from '../../src/cli/result.js'
import { containmentFailures } from '../../lab/report.js'
import { TOPOLOGIES } from '../../lab/topologies.js'

const rounds = (...p50s: number[]): LoadResult[] => p50s.map((p) => ({ latency_ms: { e2e: { percentiles: { 50: p } } } }) as unknown as LoadResult)
const comparison = (targets: Record<string, number[]>): Comparison => ({
  kind: 'podmeter-compare-result',
  version: 1,
  created_at: '2026-12-02T00:00:00Z',
  targets: Object.entries(targets).map(([name, p50s]) => ({ name, url: null, rounds: rounds(...p50s) }))
})

test('a path that contains another and is called faster than it fails the lab', () => {
  const impossible = containmentFailures(TOPOLOGIES, comparison({
    direct: [0.30, 0.31, 0.32, 0.30, 0.31],
    'ambient-l4': [0.41, 0.40, 0.42, 0.41, 0.43],
    'ambient-l7': [0.10, 0.11, 0.10, 0.12, 0.11],
    sidecar: [2.1, 2.2, 2.15, 2.12, 2.18]
  }))
  const l7 = impossible.get('ambient-l7') ?? []
  assert.equal(l7.length, 2, 'faster than direct and than ambient-l4, whose hops it contains')
  assert.match(l7[0] as string, /called faster than direct .* though its path contains direct's/)
  assert.equal(impossible.has('sidecar'), false, 'slower than direct: possible')
  assert.equal(impossible.has('ambient-l4'), false)
})

test('no verdict, or no significant difference, is no failure', () => {
  const noise = containmentFailures(TOPOLOGIES, comparison({ direct: [0.30, 0.50, 0.20, 0.40, 0.35], 'ambient-l4': [0.25, 0.45, 0.3, 0.38, 0.28] }))
  assert.equal(noise.size, 0)
  const few = containmentFailures(TOPOLOGIES, comparison({ direct: [1, 1.1, 1.2], 'ambient-l4': [0.1, 0.11, 0.12] }))
  assert.equal(few.size, 0, '3 rounds a side: no verdict at 5 %')
})
