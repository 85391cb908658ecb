// The cost figures in deploy/, rendered offline: every client Job passes
// the cluster's Prometheus ($PODMETER_PROMETHEUS, Istio's sample one by
// default), which the real option parser reads as --prometheus; a component
// or a user's own patch changes it; the server pods tell their namespace
// (POD_NAMESPACE) for /stats; and the default queries name what the
// manifests run (the app's container, the waypoint's name).

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { before, describe, test } from 'node:test'
import { parseArgs, Reader } from '../../src/cli/args.js'
import { COMPARE_SPEC } from '../../src/cli/compare.js'
import { DEFAULT_WAYPOINT, PROMETHEUS_ENV } from '../../src/cli/cost/options.js'
import { CADVISOR } from '../../src/cli/cost/queries.js'
import { LOAD_SPEC } from '../../src/cli/load.js'
import { parseUrl, readLoadOptions } from '../../src/cli/load-options.js'
import { parseTcpUrl, readTcpLoadOptions } from '../../src/cli/tcp-options.js'
import { ROOT } from '../support/helpers.js'
import { expandArgs, one, render, type K8sObject } from '../support/kustomize.js'

const SERVERS = ['plain', 'sidecar', 'ambient', 'ambient-waypoint'] as const
const CLIENTS = ['client', 'client-baseline', 'client-same-node', 'client-cross-node', 'client-tcp'] as const
const ISTIO_SAMPLE = 'http://prometheus.istio-system:9090'
const rendered = new Map<string, K8sObject[]>()
before(() => { for (const dir of [...SERVERS, ...CLIENTS]) rendered.set(dir, render(`overlays/${dir}`)) })

const load = (list: K8sObject[]): any => one(list, 'Job').spec.template.spec.containers.find((c: any) => c.name === 'load')
const envOf = (c: any, name: string): any => c.env?.find((e: any) => e.name === name)

/** The cost options the Job's podmeter reads: its args as Kubernetes expands them, its env as the container has it. */
function costOf (c: any): ReturnType<typeof readLoadOptions>['cost'] {
  const env = Object.fromEntries((c.env as any[]).filter((e) => typeof e.value === 'string').map((e) => [e.name, e.value]))
  const [command, ...rest] = expandArgs(c, { POD_NAMESPACE: 'podmeter-sidecar' })
  const spec = command === 'compare' ? COMPARE_SPEC : LOAD_SPEC
  const parsed = parseArgs(rest, spec)
  const r = new Reader(parsed, spec)
  if (command === 'compare') {
    const t = r.all('target')[0] as string
    return readLoadOptions(r, parseUrl(t.slice(t.indexOf('=') + 1)), {}, env).cost
  }
  const url = parsed.positionals[0] as string
  return url.startsWith('tcp:') ? readTcpLoadOptions(r, parseTcpUrl(url), env).load.cost : readLoadOptions(r, parseUrl(url), {}, env).cost
}

/** Renders a kustomization written to a directory of its own, its paths under deploy/, as a user composes one. */
function compose (kustomization: { resources: string[], components?: string[], patches?: unknown[] }): K8sObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'podmeter-kustomize-cost-'))
  try {
    const rel = (p: string): string => relative(dir, join(ROOT, 'deploy', p))
    const k = { ...kustomization, resources: kustomization.resources.map(rel), components: (kustomization.components ?? []).map(rel) }
    writeFileSync(join(dir, 'kustomization.yaml'), JSON.stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', ...k }))
    return render(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('the cost figures in deploy/', () => {
  test('every client Job passes Istio\'s sample Prometheus, which its podmeter reads as --prometheus', () => {
    for (const dir of CLIENTS) {
      const c = load(rendered.get(dir) as K8sObject[])
      assert.deepEqual(envOf(c, PROMETHEUS_ENV), { name: PROMETHEUS_ENV, value: ISTIO_SAMPLE }, dir)
      assert.ok(!c.args.includes('--prometheus'), `${dir}: from the env, so a patch of the args keeps it`)
      assert.equal(costOf(c)?.prometheus.href, `${ISTIO_SAMPLE}/`, dir)
    }
  })

  test('deploy/components/client-prometheus points a Job at another Prometheus; so does a user\'s own patch, and "" turns it off', () => {
    const other = load(compose({ resources: ['overlays/client'], components: ['components/client-prometheus'] }))
    assert.equal(envOf(other, PROMETHEUS_ENV)?.value, 'http://kube-prometheus-stack-prometheus.monitoring:9090')
    assert.equal(costOf(other)?.prometheus.host, 'kube-prometheus-stack-prometheus.monitoring:9090')
    assert.equal(other.env.filter((e: any) => e.name === PROMETHEUS_ENV).length, 1, 'replaced, not added')
    const patch = (value: string): unknown => ({
      target: { kind: 'Job' },
      patch: JSON.stringify({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'podmeter-load' }, spec: { template: { spec: { containers: [{ name: 'load', env: [{ name: PROMETHEUS_ENV, value }] }] } } } })
    })
    const mine = load(compose({ resources: ['overlays/client-baseline'], patches: [patch('http://prom.observability:9090')] }))
    assert.equal(costOf(mine)?.prometheus.href, 'http://prom.observability:9090/')
    assert.equal(costOf(load(compose({ resources: ['overlays/client'], patches: [patch('')] }))), null)
  })

  test('every server pod tells its namespace (POD_NAMESPACE: metadata.namespace) for /stats pod_namespace', () => {
    for (const dir of SERVERS) {
      const d = one(rendered.get(dir) as K8sObject[], 'Deployment', 'podmeter')
      const c = d.spec.template.spec.containers.find((x: any) => x.name === 'podmeter')
      assert.deepEqual(envOf(c, 'POD_NAMESPACE')?.valueFrom, { fieldRef: { fieldPath: 'metadata.namespace' } }, dir)
    }
  })

  test('the default queries name what the manifests run: the app\'s container and the waypoint', () => {
    const d = one(rendered.get('plain') as K8sObject[], 'Deployment', 'podmeter')
    const app = d.spec.template.spec.containers[0].name as string
    assert.match(CADVISOR.app?.cpu ?? '', new RegExp(`container="${app}"`))
    assert.match(CADVISOR.app?.memory ?? '', new RegExp(`container="${app}"`))
    const gateway = one(rendered.get('ambient-waypoint') as K8sObject[], 'Gateway')
    assert.equal(gateway.metadata.name, DEFAULT_WAYPOINT, 'the waypoint the overlay makes is the one --waypoint defaults to')
    assert.equal(gateway.metadata.namespace, one(rendered.get('ambient-waypoint') as K8sObject[], 'Deployment', 'podmeter').metadata.namespace, 'in the server\'s namespace, where the default looks')
  })
})
