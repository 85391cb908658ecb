// Placement in deploy/, rendered offline with the kustomize the tests use:
// the client Job on the server pod's node or away from it (pod affinity and
// anti-affinity on the server's labels, per node), replicas and client pods
// spread over the nodes, both ends' node names from the Downward API, and
// the sidecar's size stated in the sidecar overlay. (deploy.test.ts checks
// every overlay, these included, against the Kubernetes schemas and the
// restricted Pod Security Standard.)

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { before, describe, test } from 'node:test'
import { Deployment } from 'kubernetes-models/apps/v1'
import { Job } from 'kubernetes-models/batch/v1'
import { parseArgs, Reader } from '../../src/cli/args.js'
import { LOAD_SPEC } from '../../src/cli/load.js'
import { parseUrl, readLoadOptions } from '../../src/cli/load-options.js'
import { ROOT } from '../support/helpers.js'
import { container, expandArgs, one, podOf, render, type K8sObject } from '../support/kustomize.js'

const DIRS = ['plain', 'sidecar', 'ambient', 'ambient-waypoint', 'client', 'client-baseline', 'client-same-node', 'client-cross-node'] as const
const CLIENTS = DIRS.filter((d) => d.startsWith('client'))
const rendered = new Map<string, K8sObject[]>()
before(() => { for (const dir of DIRS) rendered.set(dir, render(`overlays/${dir}`)) })
const objects = (dir: string): K8sObject[] => rendered.get(dir) as K8sObject[]

/** A Kubernetes quantity in base units: `500m` → 0.5, `128Mi` → 134217728, `1G` → 1e9. */
function quantity (text: string): number {
  const m = /^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(text)
  assert.ok(m !== null, `${text} is a quantity`)
  const unit = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 }[m[2] ?? ''] ?? 1
  return Number(m[1]) * unit
}

/** Renders a kustomization of `resources` and `components` (paths under deploy/) written to a directory of its own, as a user composes one. */
function compose (name: string, kustomization: Record<string, unknown>): K8sObject[] {
  const dir = mkdtempSync(join(tmpdir(), `podmeter-kustomize-${name}-`))
  try {
    const rel = (p: string): string => relative(dir, join(ROOT, 'deploy', p))
    const k = { ...kustomization, resources: (kustomization.resources as string[]).map(rel), components: (kustomization.components as string[]).map(rel) }
    writeFileSync(join(dir, 'kustomization.yaml'), JSON.stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', ...k }))
    return render(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const matches = (selector: { matchLabels?: Record<string, string> }, labels: Record<string, string> | undefined): boolean =>
  Object.keys(selector.matchLabels ?? {}).length > 0 && Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels?.[k] === v)

describe('placement: the client on the server\'s node or away from it, replicas spread, the nodes recorded', () => {
  const serverLabels = (): Record<string, string> | undefined => podOf(one(objects('plain'), 'Deployment', 'podmeter')).metadata.labels

  test('every server and client pod gets its node name from the Downward API (NODE_NAME: spec.nodeName)', () => {
    for (const [dir, list] of rendered) {
      for (const w of list.filter((o) => o.kind === 'Deployment' || o.kind === 'Job')) {
        const c = podOf(w).spec.containers[0]
        assert.deepEqual(c.env.find((e: any) => e.name === 'NODE_NAME')?.valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } }, `${dir}: ${w.kind} ${w.metadata.name}`)
      }
    }
  })

  for (const [dir, kind, other] of [['client-same-node', 'podAffinity', 'podAntiAffinity'], ['client-cross-node', 'podAntiAffinity', 'podAffinity']] as const) {
    test(`${dir}: ${kind} on the server pods' labels, per node; its own name and label, arguments the real parser accepts`, () => {
      const job = one(objects(dir), 'Job')
      const placement = dir.slice('client-'.length)
      assert.equal(job.metadata.name, `podmeter-load-${placement}`)
      const affinity = podOf(job).spec.affinity
      assert.equal(affinity?.[other], undefined)
      const terms = affinity?.[kind]?.requiredDuringSchedulingIgnoredDuringExecution
      assert.equal(terms?.length, 1, 'required: the placement is part of the experiment')
      assert.equal(terms[0].topologyKey, 'kubernetes.io/hostname')
      assert.ok(matches(terms[0].labelSelector, serverLabels()), 'selects the server pods')
      assert.ok(!matches(terms[0].labelSelector, podOf(job).metadata.labels), 'and not the client\'s own')
      assert.equal(terms[0].namespaces, undefined, 'in the namespace the Job is applied to, the server\'s')
      const [command, ...rest] = expandArgs(container(job, 'load'), { POD_NAMESPACE: 'podmeter-ambient' })
      assert.equal(command, 'load')
      const parsed = parseArgs(rest, LOAD_SPEC)
      const o = readLoadOptions(new Reader(parsed, LOAD_SPEC), parseUrl(parsed.positionals[0] as string), {}, {})
      assert.equal(o.label, `podmeter-ambient-${placement}`, 'its results group apart from other placements')
      // The ConfigMap of its script follows its name, and the Job mounts that one.
      const cm = one(objects(dir), 'ConfigMap')
      assert.ok(podOf(job).spec.volumes.some((v: any) => v.configMap?.name === cm.metadata.name))
    })
  }

  test('the plain client has no placement of its own', () => {
    for (const dir of ['client', 'client-baseline']) assert.equal(podOf(one(objects(dir), 'Job')).spec.affinity, undefined, dir)
  })

  test('topology-spread: the server\'s replicas and each client Job\'s pods spread evenly over the nodes', () => {
    const list = compose('spread', { resources: ['overlays/ambient'], components: ['components/topology-spread'], replicas: [{ name: 'podmeter', count: 3 }] })
    const d = one(list, 'Deployment', 'podmeter')
    assert.equal(d.spec.replicas, 3)
    assert.doesNotThrow(() => new Deployment(d as any).validate())
    const clients = compose('spread-client', { resources: ['overlays/client'], components: ['components/topology-spread'] })
    const job = one(clients, 'Job')
    assert.doesNotThrow(() => new Job(job as any).validate())
    for (const w of [d, job]) {
      const [c, ...more] = podOf(w).spec.topologySpreadConstraints
      assert.equal(more.length, 0)
      assert.equal(c.topologyKey, 'kubernetes.io/hostname')
      assert.equal(c.maxSkew, 1)
      assert.equal(c.whenUnsatisfiable, 'DoNotSchedule')
      assert.equal(c.nodeTaintsPolicy, 'Honor', 'a tainted control-plane node is not an empty domain that holds the skew')
      assert.ok(matches(c.labelSelector, podOf(w).metadata.labels), `${w.kind}: spreads its own pods`)
    }
    assert.deepEqual(podOf(job).spec.topologySpreadConstraints[0].matchLabelKeys, ['job-name'], 'each Job\'s pods apart from another Job\'s')
    // Composed with a placement, both apply.
    const both = one(compose('spread-same', { resources: ['overlays/client-same-node'], components: ['components/topology-spread'] }), 'Job')
    assert.ok(podOf(both).spec.affinity.podAffinity !== undefined && podOf(both).spec.topologySpreadConstraints.length === 1)
  })

  test('the sidecar overlay states the sidecar\'s size, and the client\'s sidecar has the same', () => {
    const keys = ['sidecar.istio.io/proxyCPU', 'sidecar.istio.io/proxyCPULimit', 'sidecar.istio.io/proxyMemory', 'sidecar.istio.io/proxyMemoryLimit']
    const server = podOf(one(objects('sidecar'), 'Deployment', 'podmeter')).metadata.annotations ?? {}
    for (const k of keys) assert.equal(typeof server[k], 'string', k)
    assert.ok(quantity(server['sidecar.istio.io/proxyCPU'] as string) <= quantity(server['sidecar.istio.io/proxyCPULimit'] as string), 'CPU request within its limit')
    assert.ok(quantity(server['sidecar.istio.io/proxyMemory'] as string) <= quantity(server['sidecar.istio.io/proxyMemoryLimit'] as string), 'memory request within its limit')
    const app = container(one(objects('sidecar'), 'Deployment', 'podmeter'), 'podmeter').resources
    assert.equal(quantity(server['sidecar.istio.io/proxyCPU'] as string), quantity(app.requests.cpu), 'the proxy gets the app\'s CPU: a throttled proxy would read as mesh latency')
    assert.equal(quantity(server['sidecar.istio.io/proxyCPULimit'] as string), quantity(app.limits.cpu))
    for (const dir of CLIENTS) {
      const a = podOf(one(objects(dir), 'Job')).metadata.annotations ?? {}
      for (const k of keys) assert.equal(a[k], server[k], `${dir}: ${k}`)
    }
    for (const mode of ['plain', 'ambient', 'ambient-waypoint']) {
      const a = podOf(one(objects(mode), 'Deployment', 'podmeter')).metadata.annotations ?? {}
      for (const k of keys) assert.equal(a[k], undefined, `${mode}: no sidecar, no sidecar size`)
    }
  })
})
