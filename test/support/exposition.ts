// Reading /metrics answers in tests: the text format's samples, and the
// protobuf format decoded with the official schema (generated code, the
// @bufbuild/protobuf runtime's own size-delimited framing).

import { fromBinary } from '@bufbuild/protobuf'
import { sizeDelimitedPeek } from '@bufbuild/protobuf/wire'
import { MetricFamilySchema, type MetricFamily } from '../../src/main/gen/io/prometheus/client/metrics_pb.js'

export const PROTOBUF_ACCEPT = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited'

/** Samples of a text exposition, keyed `name{labels}` as printed. */
export function textSamples (body: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of body.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line)
    if (m !== null) out.set(m[1] as string, Number(m[2]))
  }
  return out
}

/** Every length-delimited MetricFamily in `bytes`; throws on a truncated or malformed stream. */
export function decodeFamilies (bytes: Uint8Array): MetricFamily[] {
  const out: MetricFamily[] = []
  let rest = bytes
  while (rest.length > 0) {
    const peek = sizeDelimitedPeek(rest)
    if (peek.eof) throw new Error(`truncated message after ${out.length} families`)
    out.push(fromBinary(MetricFamilySchema, rest.subarray(peek.offset, peek.offset + peek.size)))
    rest = rest.subarray(peek.offset + peek.size)
  }
  return out
}
