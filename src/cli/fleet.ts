// The fleet projection of `podmeter cost`: per-proxy figures measured in a
// run (fleet-input.ts) turned into what a fleet of N pods over M nodes at R
// req/s each would burn, in vCPU and GiB, for a sidecar mesh and for
// ambient. Pure arithmetic; the formulas are in docs/client.md ("Fleet
// projection") and printed beside the figures:
//
//   T = N × R                        the fleet's req/s
//   vCPU of a component = T / 1000 × its measured vCPU per 1,000 req/s
//     (every request of the fleet passes one sidecar, one ztunnel and, with
//     waypoints, one waypoint: how they are spread does not change the sum)
//   memory of a component = its instances × its measured max working set
//     sidecar: N instances (one a pod), ztunnel: M (one a node),
//     waypoint: K (--waypoints), the app: N
//
// Only the serving side is projected (the server's sidecar, the server
// node's ztunnel, the waypoint): the client's side of the measured run is
// not a pod of the fleet.

import { FleetInputError, type Side, type Trace } from './fleet-input.js'

export const PROJECTION_KIND = 'podmeter-cost-projection'
export const PROJECTION_VERSION = 1

export interface Fleet {
  pods: number
  nodes: number
  /** req/s each pod serves. */
  rpsPerPod: number
  /** Waypoints of the ambient fleet; undefined when not given. */
  waypoints: number | undefined
}

export type Per = 'pod' | 'node' | 'waypoint'

export interface ProjectedComponent {
  component: string
  per: Per
  instances: number
  rps_per_instance: number
  cpu_cores_per_1k_rps: number
  memory_mb_per_instance: number
  vcpu: number
  memory_gib: number
  /** Part of the side's mesh total (the proxies); the app is shown for scale. */
  in_total: boolean
  traces: Trace[]
}

export interface ProjectedSide {
  name: string
  components: ProjectedComponent[]
  mesh_total: { vcpu: number, memory_gib: number }
}

export interface Projection {
  kind: typeof PROJECTION_KIND
  version: number
  created_at: string
  fleet: { pods: number, nodes: number, rps_per_pod: number, total_rps: number, waypoints: number | null }
  assumptions: string[]
  sides: ProjectedSide[]
  /** sidecar − ambient, with both sides; null otherwise. */
  difference: { vcpu: number, memory_gib: number } | null
  notes: string[]
}

/** MB (10^6 bytes, Istio's unit) to GiB (2^30 bytes). */
export const mbToGib = (mb: number): number => mb * 1e6 / 2 ** 30

/** What each side's components are: per what they run, whether they are required. */
const LAYOUT: Record<string, Array<{ component: string, per: Per, proxy: boolean }>> = {
  sidecar: [{ component: 'sidecar', per: 'pod', proxy: true }, { component: 'app', per: 'pod', proxy: false }],
  ambient: [{ component: 'ztunnel', per: 'node', proxy: true }, { component: 'waypoint', per: 'waypoint', proxy: true }, { component: 'app', per: 'pod', proxy: false }]
}

export const ASSUMPTIONS = [
  'CPU scales with req/s: a component\'s vCPU is the fleet\'s req/s ÷ 1,000 × the vCPU per 1,000 req/s measured in the run (its mean over the window, idle included), however the load is spread over its instances.',
  'Memory per proxy is flat: each instance takes the max working set measured in the run, whatever its rate (Istio: a proxy\'s memory depends on its configuration, the services and endpoints it knows, not on its load).',
  'Sidecar: one per pod, at the pod\'s req/s. ztunnel: one per node; its load is the sum over the node\'s pods (pods ÷ nodes × req/s each, pods spread evenly). Waypoint: --waypoints of them, per service or namespace, sharing the fleet\'s req/s.',
  'The serving side only: the server pod\'s sidecar, its node\'s ztunnel and the waypoint; the caller\'s sidecar or ztunnel (ztunnel_client) are not counted, on either side.',
  'MB as Istio counts it (10^6 bytes); GiB = 2^30 bytes; the app is shown for scale and is not in the mesh total.'
]

function instancesOf (per: Per, fleet: Fleet): number {
  return per === 'pod' ? fleet.pods : per === 'node' ? fleet.nodes : fleet.waypoints ?? 0
}

function projectSide (side: Side, fleet: Fleet, notes: string[]): ProjectedSide {
  const layout = LAYOUT[side.name]
  if (layout === undefined) throw new Error(`no layout for ${side.name}`)
  const total = fleet.pods * fleet.rpsPerPod
  const components: ProjectedComponent[] = []
  for (const { component, per, proxy } of layout) {
    const m = side.components.get(component)
    const wanted = component === 'sidecar' || component === 'ztunnel' || (component === 'waypoint' && (fleet.waypoints ?? 0) > 0)
    if (m === undefined) {
      if (wanted) {
        const why = side.missing.get(component) ?? `they measured ${[...side.components.keys()].join(', ') || 'nothing'}`
        throw new FleetInputError(`the ${side.name} runs have no ${component} figures (${why}): ${side.name === 'ambient' ? 'an' : 'a'} ${side.name} fleet needs them${component === 'waypoint' ? ' with --waypoints > 0 (give --waypoints 0 for ambient without waypoints)' : ''}`)
      }
      continue
    }
    if (component === 'waypoint' && fleet.waypoints === undefined) {
      throw new FleetInputError(`the ${side.name} runs measured a waypoint: say how many the fleet runs with --waypoints K (one per service or namespace that has one; 0 leaves it out)`)
    }
    const instances = instancesOf(per, fleet)
    if (instances === 0) { notes.push(`${side.name}: the measured ${component} is left out (--waypoints 0)`); continue }
    const series = [...new Set(m.traces.map((t) => t.series).filter((s) => s !== null && s !== 1))]
    if (series.length > 0) notes.push(`${side.name}: ${component} matched ${series.join(', ')} series in a measured run; its memory is taken as one instance's`)
    components.push({
      component,
      per,
      instances,
      rps_per_instance: total / instances,
      cpu_cores_per_1k_rps: m.cpu_cores_per_1k_rps,
      memory_mb_per_instance: m.memory_mb,
      vcpu: total / 1000 * m.cpu_cores_per_1k_rps,
      memory_gib: mbToGib(instances * m.memory_mb),
      in_total: proxy,
      traces: m.traces
    })
  }
  const known = new Set(layout.map((l) => l.component))
  const other = [...side.components.keys()].filter((c) => !known.has(c))
  if (other.length > 0) notes.push(`${side.name}: not projected: ${other.join(', ')} (the caller's side, or no part of ${side.name === 'ambient' ? 'an' : 'a'} ${side.name} fleet)`)
  const proxies = components.filter((c) => c.in_total)
  return {
    name: side.name,
    components,
    mesh_total: { vcpu: proxies.reduce((s, c) => s + c.vcpu, 0), memory_gib: proxies.reduce((s, c) => s + c.memory_gib, 0) }
  }
}

/** The projection of each side given; throws FleetInputError for a component the fleet needs and no run measured. */
export function project (fleet: Fleet, sides: readonly Side[], now = new Date()): Projection {
  const notes: string[] = []
  const projected = sides.map((s) => projectSide(s, fleet, notes))
  const sidecar = projected.find((s) => s.name === 'sidecar')
  const ambient = projected.find((s) => s.name === 'ambient')
  return {
    kind: PROJECTION_KIND,
    version: PROJECTION_VERSION,
    created_at: now.toISOString(),
    fleet: { pods: fleet.pods, nodes: fleet.nodes, rps_per_pod: fleet.rpsPerPod, total_rps: fleet.pods * fleet.rpsPerPod, waypoints: fleet.waypoints ?? null },
    assumptions: ASSUMPTIONS,
    sides: projected,
    difference: sidecar !== undefined && ambient !== undefined
      ? { vcpu: sidecar.mesh_total.vcpu - ambient.mesh_total.vcpu, memory_gib: sidecar.mesh_total.memory_gib - ambient.mesh_total.memory_gib }
      : null,
    notes
  }
}
