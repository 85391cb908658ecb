// The lab's PromQL: what it asks its Prometheus about the stand-ins, which
// prometheus-process-exporter measures as one `groupname` each
// (exporter.ts). The Kubernetes query set (cAdvisor's container_* series)
// is src/cli/cost/queries.ts; this one has the same parts, in the
// process-exporter's names:
//
//   namedprocess_namegroup_cpu_seconds_total{groupname, mode="user"|"system"}
//     utime + stime of the group's processes (every thread), a counter
//   namedprocess_namegroup_memory_bytes{groupname, memtype="resident"}
//     rss of the group's processes, a gauge
//
// The placeholders: $groups a regex of group names; $start and $end the
// timestamps of the two scrapes that bracket a window (unix seconds, to the
// millisecond); $seconds their distance; $range the same as a PromQL
// duration.

export interface CostQueries {
  /** CPU cores, mean over the window: the counter's rise from the scrape at $start to the one at $end, over their distance. An instant query. */
  cpu: string
  /** CPU cores at each step, from the last two scrapes before it. A range query over the window, step 1 s. */
  cpu_steps: string
  /** Resident bytes, the largest scrape in the window. An instant query at $end. */
  memory: string
  /** Resident bytes, the mean of the scrapes in the window. An instant query at $end. */
  memory_mean: string
}

const CPU = 'namedprocess_namegroup_cpu_seconds_total{groupname=~"$groups"}'
const RSS = 'namedprocess_namegroup_memory_bytes{memtype="resident",groupname=~"$groups"}'

/**
 * `rate(…[$range])` would extrapolate to the ends of its range, and whether
 * the range takes the scrape at its start differs between Prometheus 2 and 3
 * (closed, then left-open); the difference of the counter at the two
 * scrapes is the same in both, and exact.
 */
export const PROCESS_EXPORTER_QUERIES: CostQueries = {
  cpu: `(sum by (groupname) (${CPU} @ $end) - sum by (groupname) (${CPU} @ $start)) / $seconds`,
  cpu_steps: `sum by (groupname) (irate(${CPU}[3s]))`,
  memory: `max by (groupname) (max_over_time(${RSS}[$range] @ $end))`,
  memory_mean: `avg by (groupname) (avg_over_time(${RSS}[$range] @ $end))`
}

export interface QueryWindow {
  /** A regex of group names, matched whole by Prometheus. */
  groups: string
  /** Scrape timestamps, unix seconds. */
  start: number
  end: number
}

/** A template with its placeholders filled in: the PromQL as sent. */
export function render (template: string, w: QueryWindow): string {
  // Group names are the lab's own, of this shape: no quote or backslash needs escaping in a PromQL string.
  if (!/^[\w./|*()-]+$/.test(w.groups)) throw new Error(`not a group regex the lab makes: ${w.groups}`)
  const ms = Math.round((w.end - w.start) * 1000)
  if (ms <= 0) throw new Error(`an empty window: ${w.start} to ${w.end}`)
  const values: Record<string, string> = {
    groups: w.groups,
    start: w.start.toFixed(3),
    end: w.end.toFixed(3),
    seconds: (ms / 1000).toFixed(3),
    range: `${ms}ms`
  }
  return template.replace(/\$(groups|start|end|seconds|range)\b/g, (_, name: string) => values[name] as string)
}
