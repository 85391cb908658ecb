// The PromQL behind the cost figures (collect.ts): per component, a CPU
// template and a memory template, with {placeholders} that templates.ts fills
// for each run. This file is data only, one table per query set, so that a
// set for another exporter is one more table (and one more line in
// QUERY_SETS). docs/cost.md documents every query here and what it assumes;
// `--cost-queries FILE` overrides any of them.
//
// The contract of a template, which collect.ts relies on:
//   cpu     a range query of CPU cores per series: every step's value is the
//           rate of a CPU-seconds counter over {range}. The series are added
//           per step, so a template may return one series or several.
//   memory  a range query of bytes per series (working set), added per step;
//           the max and the mean over the steps are reported.
// Placeholders (templates.ts): {namespace} {pod} {node} {client_node}
// {waypoint} {waypoint_namespace} {istio_namespace} {range}.

/** The two templates of one component. */
export interface QueryTemplates {
  cpu: string
  memory: string
}

/** Component name → its templates, in the order the result lists them. */
export type QuerySet = Record<string, QueryTemplates>

const CPU = 'container_cpu_usage_seconds_total'
const MEMORY = 'container_memory_working_set_bytes'

/** A container's own series: neither the pod's cgroup (container="") nor the pause container ("POD" with dockershim, "" with containerd). */
const CONTAINERS = 'container!="",container!="POD"'
/** Pods of the ztunnel DaemonSet: ztunnel-<5 characters>. */
const ZTUNNEL = `namespace="{istio_namespace}",pod=~"ztunnel-[a-z0-9]{5}",${CONTAINERS}`

/**
 * A selector on one node's series, for both common scrape setups of the
 * kubelet's cAdvisor: kube-prometheus-stack (the Prometheus Operator) labels
 * them node="<node>", Istio's sample Prometheus (the Helm chart's
 * kubernetes-nodes-cadvisor job, node discovery) instance="<node>". Each
 * branch matches only the other setup's series, so `or` never counts twice.
 */
const onNode = (metric: string, selector: string, node: string, rate: boolean): string => {
  const one = (label: string): string => rate ? `rate(${metric}{${selector},${label}="${node}"}[{range}])` : `${metric}{${selector},${label}="${node}"}`
  return `${one('node')} or ${one('instance')}`
}

/** The kubelet's cAdvisor (`container_*`, labels namespace, pod, container), as Kubernetes' own Prometheus setups scrape it. */
export const CADVISOR: QuerySet = {
  app: {
    cpu: `rate(${CPU}{namespace="{namespace}",pod="{pod}",container="podmeter"}[{range}])`,
    memory: `${MEMORY}{namespace="{namespace}",pod="{pod}",container="podmeter"}`
  },
  sidecar: {
    cpu: `rate(${CPU}{namespace="{namespace}",pod="{pod}",container="istio-proxy"}[{range}])`,
    memory: `${MEMORY}{namespace="{namespace}",pod="{pod}",container="istio-proxy"}`
  },
  ztunnel: {
    cpu: onNode(CPU, ZTUNNEL, '{node}', true),
    memory: onNode(MEMORY, ZTUNNEL, '{node}', false)
  },
  ztunnel_client: {
    cpu: onNode(CPU, ZTUNNEL, '{client_node}', true),
    memory: onNode(MEMORY, ZTUNNEL, '{client_node}', false)
  },
  waypoint: {
    cpu: `rate(${CPU}{namespace="{waypoint_namespace}",pod=~"{waypoint}-[a-z0-9]{1,10}-[a-z0-9]{5}",${CONTAINERS}}[{range}])`,
    memory: `${MEMORY}{namespace="{waypoint_namespace}",pod=~"{waypoint}-[a-z0-9]{1,10}-[a-z0-9]{5}",${CONTAINERS}}`
  }
}

/** The built-in sets, by the name `--cost-queries NAME` takes. The first is the default. */
export const QUERY_SETS: Record<string, QuerySet> = {
  cadvisor: CADVISOR
}
