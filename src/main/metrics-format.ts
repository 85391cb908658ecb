// Which exposition format a scraper asked /metrics for, from its Accept
// header: the one with the highest q, the earlier in the header on a tie
// (client_golang's rule). Prometheus asks
//   with native histograms on:  application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,…,text/plain;version=0.0.4;q=0.5,*/*;q=0.1
//   without:                    application/openmetrics-text;version=1.0.0,…,text/plain;version=0.0.4;q=0.5,*/*;q=0.1
// No Accept, an unknown type or `*/*` alone get the text format. Protobuf
// counts only with proto=io.prometheus.client.MetricFamily and
// encoding=delimited, the one framing there is.

export type Format = 'text' | 'openmetrics' | 'protobuf'

const MAX_ENTRIES = 32

function formatOf (type: string, params: Map<string, string>): Format | undefined {
  switch (type) {
    case 'application/vnd.google.protobuf':
      return params.get('proto') === 'io.prometheus.client.metricfamily' && params.get('encoding') === 'delimited' ? 'protobuf' : undefined
    case 'application/openmetrics-text':
      return 'openmetrics'
    case 'text/plain': case 'text/*': case '*/*':
      return 'text'
    default:
      return undefined
  }
}

/** `protobuf`: whether the protobuf format may be chosen at all (METRICS_PROTOBUF). */
export function negotiate (accept: string | undefined, protobuf = true): Format {
  if (accept === undefined) return 'text'
  let best: Format = 'text'
  let bestQ = 0
  for (const entry of accept.split(',', MAX_ENTRIES)) {
    const [type = '', ...rest] = entry.split(';').map((s) => s.trim().toLowerCase())
    const params = new Map<string, string>()
    for (const p of rest) {
      const eq = p.indexOf('=')
      if (eq > 0) params.set(p.slice(0, eq).trim(), p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'))
    }
    const q = params.has('q') ? Number(params.get('q')) : 1
    if (!(q > 0 && q <= 1)) continue
    const format = formatOf(type, params)
    if (format !== undefined && q > bestQ && (protobuf || format !== 'protobuf')) {
      best = format
      bestQ = q
    }
  }
  return best
}
