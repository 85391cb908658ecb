// hdr-histogram-js, the parts PodMeter uses, loaded file by file. Its index
// loads everything at once: the WebAssembly build with its loader and pako,
// the log reader and writer (whose module scope makes an Intl.NumberFormat,
// paging in ICU data), the recorder. In a thread that only keeps histograms
// that is about 7 MiB of RSS (docs/operations.md, "Memory"), the histogram
// worker's included. The package has no `exports` map, so these files are as
// public as its index, and they are the very modules the index requires: the
// classes are the same objects, so instanceof and the CLI's decoding agree.

import { createRequire } from 'node:module'
import type * as Hdr from 'hdr-histogram-js'

const require = createRequire(import.meta.url)
const file = <T>(name: string): T => (require(`hdr-histogram-js/dist/${name}.js`) as { default: T }).default

export const JsHistogram = file<typeof Hdr.JsHistogram>('JsHistogram')
export const Float64Histogram = file<typeof Hdr.Float64Histogram>('Float64Histogram')
export const Int32Histogram = file<typeof Hdr.Int32Histogram>('Int32Histogram')

let encoding = false

/**
 * HdrHistogram's V2 compressed encoding in base64, exactly as the library's
 * encodeIntoCompressedBase64 makes it for a JsHistogram: the method its
 * encoding file adds to JsHistogram. That file (and the deflate it brings)
 * is loaded on the first call.
 */
export function encodeIntoCompressedBase64 (h: Hdr.JsHistogram): string {
  if (!encoding) {
    require('hdr-histogram-js/dist/JsHistogram.encoding.js')
    encoding = true
  }
  return (h as Hdr.JsHistogram & { encodeIntoCompressedBase64: () => string }).encodeIntoCompressedBase64()
}

/** The library's own decodeFromCompressedBase64, from its index, loaded on the first call (the CLI's; the server never decodes). */
export function decodeFromCompressedBase64 (...args: Parameters<typeof Hdr.decodeFromCompressedBase64>): Hdr.Histogram {
  return (require('hdr-histogram-js') as typeof Hdr).decodeFromCompressedBase64(...args)
}
