// A histogram whose counts array is a view into the shared buffer, so that a
// replacement worker continues with every count its predecessor recorded.
//
// Built on hdr-histogram-js's public abstract JsHistogram (the same base as
// its Float64Histogram and Int32Histogram), implementing only the count
// accessors: no private field of the library is touched. Its range is fixed:
// the counts array cannot grow, so resize() refuses.

import { JsHistogram } from '../shared/hdr-lib.js'

export type Counts = Float64Array | Uint32Array

export class SharedHistogram extends JsHistogram {
  readonly counts: Counts

  /** `empty`: the caller knows every count is zero, so there is nothing to read. */
  constructor (lowestUs: number, highestUs: number, digits: number, counts: Counts, empty = false) {
    super(lowestUs, highestUs, digits)
    if (counts.length !== this.countsArrayLength) {
      throw new Error(`histogram counts length mismatch: the layout has ${counts.length}, HDR needs ${this.countsArrayLength}`)
    }
    this.counts = counts
    this.wordSizeInBytes = counts.BYTES_PER_ELEMENT
    if (empty) {
      // What establishInternalTackingValues() finds in counts that are all zero.
      this.maxValue = 0
      this.minNonZeroValue = Number.MAX_VALUE
      this.setTotalCount(0)
    } else {
      // Totals, min and max from whatever the buffer already holds.
      this.establishInternalTackingValues()
    }
  }

  getCountAtIndex (index: number): number {
    return this.counts[index] as number
  }

  incrementCountAtIndex (index: number): void {
    this.counts[index] = (this.counts[index] as number) + 1
  }

  addToCountAtIndex (index: number, value: number): void {
    this.counts[index] = (this.counts[index] as number) + value
  }

  setCountAtIndex (index: number, value: number): void {
    this.counts[index] = value
  }

  clearCounts (): void {
    this.counts.fill(0)
  }

  resize (): void {
    throw new Error('a shared histogram has a fixed range (HISTOGRAM_MAX_US)')
  }

  protected _getEstimatedFootprintInBytes (): number {
    return 1024 + this.counts.byteLength
  }

  copyCorrectedForCoordinatedOmission (): never {
    throw new Error('not supported on a shared histogram')
  }
}
