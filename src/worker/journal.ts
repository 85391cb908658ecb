// The hand-over between histogram workers: every sample recorded exactly
// once, whatever instruction a worker dies at.
//
// Recording a sample writes four places: the cumulative, window and slice
// counts of its bucket, then the ring's read index, which releases it. A
// thread that dies between two of them leaves the sample half recorded: a
// replacement that records it again from the ring counts it twice, one that
// skips it keeps a count in one histogram and not the others. So before it
// touches a count the worker writes in the journal what each count becomes
// (absolute values, not increments), then the sample's ring sequence as the
// mark that the entry is whole:
//
//   INDEX, SLOT                     the bucket and the slice
//   CUMULATIVE, WINDOW, SLICE       their counts once the sample is in
//   CLAMPED                         SAMPLES_CLAMPED once it is in, -1 if not clamped
//   SHARD                           whose ring the sample came from (each HTTP shard has its own)
//   SEQ                             written last
//
// A replacement finds one of two states. SEQ is not SHARD's ring's read index:
// the last entry's sample was released, so the counts hold every released
// sample once (an entry cut before its SEQ touched nothing). SEQ is the read
// index: the sample was being recorded and not released; writing the
// journal's values again is harmless, as they are absolute, and then the slot
// is released. The window, kept equal to the sum of the live slices, is
// summed again from them, which also mends a death in the middle of a
// slice's expiry.
//
// This relies on one consumer at a time: piscina starts the replacement
// after the dead thread's 'error' or 'exit', when it runs no more code.

import { C, M, set, type Views } from '../shared/layout.js'
import type { RingConsumer } from '../shared/ring.js'

export const J = { SEQ: 0, INDEX: 1, SLOT: 2, CUMULATIVE: 3, WINDOW: 4, SLICE: 5, CLAMPED: 6, SHARD: 7 } as const

/** Writes the counts of the journal's entry (all of it, or the first `steps` for an injected fault). */
export function apply (v: Views, steps = 4): void {
  const j = v.journal
  const i = j[J.INDEX] as number
  v.cumulativeCounts[i] = j[J.CUMULATIVE] as number
  if (steps < 2) return
  v.windowCounts[i] = j[J.WINDOW] as number
  if (steps < 3) return
  ;(v.sliceCounts[j[J.SLOT] as number] as Uint32Array)[i] = j[J.SLICE] as number
  if (steps < 4) return
  const clamped = j[J.CLAMPED] as number
  if (clamped >= 0) set(v.counters, C.SAMPLES_CLAMPED, clamped)
}

/**
 * Finishes what a dead predecessor left: the sample it was recording, and
 * the window. Runs once, before the replacement's histograms read the
 * counts. Returns whether a sample was finished.
 */
export function recover (v: Views, rings: RingConsumer | readonly RingConsumer[]): boolean {
  const seq = v.journal[J.SEQ] as number
  const ring = Array.isArray(rings) ? rings[Math.max(0, v.journal[J.SHARD] as number)] as RingConsumer | undefined : rings as RingConsumer
  const unfinished = ring !== undefined && seq === ring.readSequence
  if (unfinished) {
    apply(v)
    ring.release(seq + 1)
  }
  const win = v.windowCounts
  win.fill(0)
  v.sliceCounts.forEach((counts, s) => {
    if ((v.sliceMeta[s]?.[M.STAMP] as number) < 0) return
    for (let i = 0; i < counts.length; i++) {
      const c = counts[i] as number
      if (c !== 0) win[i] = (win[i] as number) + c
    }
  })
  return unfinished
}
