// nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds, with
// prom-client's names and meaning (the event loop's delay since the previous
// scrape, from perf_hooks' monitorEventLoopDelay), minus its idle artefact:
// when no delay was sampled between two scrapes, prom-client reports
// min 9223372036.85 s and mean NaN. Here such a scrape has no sample at all
// for these gauges, which a query sees as absent, not as a 292-year lag.

import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'

export const EVENT_LOOP_DELAY_NAMES = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'].map((s) => `nodejs_eventloop_lag_${s}_seconds`)

type Figures = Record<string, number>

export class EventLoopDelay {
  readonly #histogram: IntervalHistogram
  #figures: Figures | undefined

  constructor () {
    this.#histogram = monitorEventLoopDelay()
    this.#histogram.enable()
  }

  /** Ends the interval: the figures since the previous call, or undefined when nothing was sampled. */
  take (): void {
    const h = this.#histogram
    const s = (ns: number): number => ns / 1e9
    this.#figures = h.count === 0
      ? undefined
      : { min: s(h.min), max: s(h.max), mean: s(h.mean), stddev: s(h.stddev), p50: s(h.percentile(50)), p90: s(h.percentile(90)), p99: s(h.percentile(99)) }
    h.reset()
  }

  /** The figure `name` (one of EVENT_LOOP_DELAY_NAMES) of the last interval taken. */
  value (name: string): number | undefined {
    return this.#figures?.[name.slice('nodejs_eventloop_lag_'.length, -'_seconds'.length)]
  }
}
