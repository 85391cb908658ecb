// The protobuf exposition of /metrics: prom-client's metrics, as its
// registry hands them out for the text format, re-encoded as the official
// io.prometheus.client MetricFamily messages (proto/, generated into gen/),
// each length-delimited. The latency histogram family carries its classic
// buckets and, beside them, its native buckets (src/shared/native-histogram.ts):
// Prometheus with native histograms on ingests the native form, and with
// `scrape_classic_histograms` (2.45 and later) the classic one as well.

import { create } from '@bufbuild/protobuf'
import { sizeDelimitedEncode } from '@bufbuild/protobuf/wire'
import { deltas, ZERO_THRESHOLD, type NativeBuckets } from '../shared/native-histogram.js'
import {
  BucketSchema, BucketSpanSchema, HistogramSchema, LabelPairSchema, MetricFamilySchema, MetricSchema, MetricType, QuantileSchema,
  type Histogram, type Metric
} from './gen/io/prometheus/client/metrics_pb.js'

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited'

type LabelValue = string | number
interface JsonSample { value: number, labels?: Record<string, LabelValue>, metricName?: string }
/** One metric as prom-client's Registry.getMetricsAsJSON() gives it; `native` is PodMeter's latency histogram's. */
export interface JsonMetric { name: string, help: string, type: string, values: JsonSample[], native?: NativeBuckets }

const TYPES: Record<string, MetricType> = {
  counter: MetricType.COUNTER,
  gauge: MetricType.GAUGE,
  histogram: MetricType.HISTOGRAM,
  summary: MetricType.SUMMARY,
  untyped: MetricType.UNTYPED
}

/** The families, each a length-delimited MetricFamily message, in one buffer. */
export function encodeFamilies (metrics: readonly JsonMetric[]): Buffer {
  const parts: Uint8Array[] = []
  for (const m of metrics) {
    const type = TYPES[m.type] ?? MetricType.UNTYPED
    const metric = type === MetricType.HISTOGRAM
      ? histograms(m)
      : type === MetricType.SUMMARY ? summaries(m) : m.values.map((s) => scalar(type, s))
    parts.push(sizeDelimitedEncode(MetricFamilySchema, create(MetricFamilySchema, { name: m.name, help: m.help, type, metric })))
  }
  return Buffer.concat(parts)
}

function labelPairs (labels: Record<string, LabelValue> | undefined, without?: string): Metric['label'] {
  return Object.entries(labels ?? {})
    .filter(([name]) => name !== without)
    .map(([name, value]) => create(LabelPairSchema, { name, value: String(value) }))
}

function scalar (type: MetricType, s: JsonSample): Metric {
  const label = labelPairs(s.labels)
  switch (type) {
    case MetricType.COUNTER: return create(MetricSchema, { label, counter: { value: s.value } })
    case MetricType.GAUGE: return create(MetricSchema, { label, gauge: { value: s.value } })
    default: return create(MetricSchema, { label, untyped: { value: s.value } })
  }
}

/** Samples grouped by their labels other than `le` or `quantile`, in first-seen order. */
function series (m: JsonMetric, part: string): Map<string, { labels: Record<string, LabelValue> | undefined, samples: JsonSample[] }> {
  const out = new Map<string, { labels: Record<string, LabelValue> | undefined, samples: JsonSample[] }>()
  for (const s of m.values) {
    const { [part]: _, ...rest } = s.labels ?? {}
    const key = JSON.stringify(Object.entries(rest).sort())
    let entry = out.get(key)
    if (entry === undefined) {
      entry = { labels: s.labels, samples: [] }
      out.set(key, entry)
    }
    entry.samples.push(s)
  }
  return out
}

const count = (v: number): bigint => BigInt(Math.max(0, Math.round(v)))
const suffix = (s: JsonSample, name: string, tail: string): boolean => (s.metricName ?? name) === name + tail

function histograms (m: JsonMetric): Metric[] {
  const out: Metric[] = []
  for (const { labels, samples } of series(m, 'le').values()) {
    const h: Histogram = create(HistogramSchema, {})
    for (const s of samples) {
      if (suffix(s, m.name, '_count')) h.sampleCount = count(s.value)
      else if (suffix(s, m.name, '_sum')) h.sampleSum = s.value
      else if (suffix(s, m.name, '_bucket')) {
        const le = Number(s.labels?.le)
        // +Inf is _count: the exposition leaves it out (client_golang does too).
        if (Number.isFinite(le)) h.bucket.push(create(BucketSchema, { upperBound: le, cumulativeCount: count(s.value) }))
      }
    }
    if (m.native !== undefined) addNative(h, m.native)
    out.push(create(MetricSchema, { label: labelPairs(labels, 'le'), histogram: h }))
  }
  return out
}

function addNative (h: Histogram, native: NativeBuckets): void {
  h.schema = native.schema
  h.zeroThreshold = ZERO_THRESHOLD
  h.zeroCount = count(native.zeroCount)
  h.positiveSpan = native.spans.map((s) => create(BucketSpanSchema, s))
  h.positiveDelta = deltas(native.counts).map((d) => BigInt(d))
}

function summaries (m: JsonMetric): Metric[] {
  const out: Metric[] = []
  for (const { labels, samples } of series(m, 'quantile').values()) {
    const summary = create(MetricSchema, { label: labelPairs(labels, 'quantile'), summary: {} })
    const sm = summary.summary as NonNullable<Metric['summary']>
    for (const s of samples) {
      if (suffix(s, m.name, '_count')) sm.sampleCount = count(s.value)
      else if (suffix(s, m.name, '_sum')) sm.sampleSum = s.value
      else sm.quantile.push(create(QuantileSchema, { quantile: Number(s.labels?.quantile), value: s.value }))
    }
    out.push(summary)
  }
  return out
}
