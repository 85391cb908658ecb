// How many counts an HDR histogram of a range and precision has: the size
// of each counts array in the shared buffer (layout.ts). It is
// hdr-histogram-js's own arithmetic (JsHistogram's constructor and
// getBucketsNeededToCoverValue), here so that the main thread can lay out the
// buffer without loading the library, which only the histogram worker uses
// (docs/operations.md, "Memory"). The worker's SharedHistogram checks each
// array against the library's length, so a disagreement stops the worker at
// its start rather than miscounting.

/** countsArrayLength of a histogram from `lowest` to `highest` with `digits` significant digits. */
export function countsArrayLength (lowest: number, highest: number, digits: number): number {
  if (highest < 2 * lowest) throw new Error(`highestTrackableValue (${highest}) cannot be < (2 * lowestDiscernibleValue)`)
  const unitMagnitude = Math.floor(Math.log2(lowest))
  const subBucketCountMagnitude = Math.ceil(Math.log2(2 * Math.floor(10 ** digits)))
  const subBucketCount = 2 ** Math.max(subBucketCountMagnitude, 1)
  let smallestUntrackable = subBucketCount * 2 ** unitMagnitude
  let buckets = 1
  while (smallestUntrackable <= highest) {
    if (smallestUntrackable > Number.MAX_SAFE_INTEGER / 2) { buckets++; break }
    smallestUntrackable *= 2
    buckets++
  }
  return (buckets + 1) * (subBucketCount / 2)
}
