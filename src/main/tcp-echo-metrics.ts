// The TCP echo's series in /metrics (TCP_ECHO_PORT): names of their own,
// `podmeter_tcp_echo_*`, so that no query over the HTTP series takes an echo
// message for a request. The same counters and histogram as its /stats block
// (tcp-echo-stats.ts), read at scrape time.

import { C, readCounter } from '../shared/layout.js'
import type { HistogramPool } from './pool.js'
import type { Own, Sample } from './metrics.js'
import type { TcpEchoFigures } from './tcp-echo-stats.js'

const HISTOGRAM = 'podmeter_tcp_echo_duration_seconds'

/** Registers the echo's series with `own`; `le` are the bucket boundaries as labels, of `bucketsUs`. */
export function addTcpEchoMetrics (own: Own, echo: TcpEchoFigures, pool: HistogramPool, bucketsUs: readonly number[], le: readonly string[], nativeSchema: number): void {
  const n = (i: number): number => readCounter(echo.views, i)
  own(HISTOGRAM, 'Echo time of TCP echo messages (what one read returned), from the read until the echo was handed to the kernel; buckets derived exactly from its HDR histogram, native buckets in the protobuf format', 'histogram', async () => {
    const b = await pool.buckets(bucketsUs as number[], nativeSchema, 'tcp-echo')
    const values: Sample[] = b.cumulative.map((value, i) => ({ metricName: `${HISTOGRAM}_bucket`, labels: { le: le[i] as string }, value }))
    values.push(
      { metricName: `${HISTOGRAM}_bucket`, labels: { le: '+Inf' }, value: b.count },
      { metricName: `${HISTOGRAM}_sum`, value: b.sumUs / 1e6 },
      { metricName: `${HISTOGRAM}_count`, value: b.count }
    )
    return b.native === undefined ? { values } : { values, native: b.native }
  })
  own('podmeter_tcp_echo_messages_total', 'TCP echo messages echoed (handed to the kernel)', 'counter', () => [{ value: n(C.REQUESTS) }])
  own('podmeter_tcp_echo_bytes_total', 'TCP echo bytes: read (direction="in") and echoed (direction="out")', 'counter', () => [
    { labels: { direction: 'in' }, value: n(C.BYTES_IN) },
    { labels: { direction: 'out' }, value: n(C.BYTES_OUT) }
  ])
  own('podmeter_tcp_echo_connections_open', 'Open TCP echo connections', 'gauge', () => [{ value: echo.connectionsOpen }])
  own('podmeter_tcp_echo_connections_opened_total', 'TCP echo connections accepted since start', 'counter', () => [{ value: n(C.CONNECTIONS_OPENED) }])
  own('podmeter_tcp_echo_connections_rejected_total', 'TCP echo connections closed as soon as accepted because TCP_ECHO_MAX_CONNECTIONS were open', 'counter', () => [{ value: n(C.CONNECTIONS_REJECTED) }])
  own('podmeter_tcp_echo_connections_failed_total', 'TCP echo connections that ended in a socket error (reset by the peer)', 'counter', () => [{ value: n(C.ERRORS) }])
  own('podmeter_tcp_echo_connections_idle_closed_total', 'TCP echo connections closed after TCP_ECHO_IDLE_TIMEOUT_MS of silence', 'counter', () => [{ value: n(C.ECHO_IDLE_CLOSED) }])
  own('podmeter_tcp_echo_backpressure_pauses_total', 'Times a TCP echo connection stopped reading because its peer did not read its echoes', 'counter', () => [{ value: n(C.ECHO_PAUSES) }])
  own('podmeter_tcp_echo_samples_dropped_total', 'TCP echo latency samples lost because its ring was full (the message is still counted)', 'counter', () => [{ value: n(C.SAMPLES_DROPPED) }])
}
