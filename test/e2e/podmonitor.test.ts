// deploy/components/prometheus-operator added to each server overlay as the
// docs say (one more entry under `components:`), rendered with kustomize and
// checked offline against the Prometheus Operator's published schema; then
// what Prometheus would do with it: select the pods, relabel the target,
// and scrape the port with the Accept header it builds from scrapeProtocols,
// against a real PodMeter.

import assert from 'node:assert/strict'
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { before, test } from 'node:test'
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'
import { parse, stringify } from 'yaml'
import { loadConfig } from '../../src/cli/serve.js'
import { request, ROOT, startServer, tempFiles } from '../support/helpers.js'
import { one, render, type K8sObject } from '../support/kustomize.js'

const MODES = ['plain', 'sidecar', 'ambient', 'ambient-waypoint'] as const
const file = tempFiles('podmonitor')

/** The yaml block of docs/deploy.md that contains `text`: the patches tested are the ones documented. */
function docPatch (text: string): { patches: unknown[] } {
  const blocks = [...readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] as string)
  const hits = blocks.filter((b) => b.includes(text))
  assert.equal(hits.length, 1, `one yaml block in docs/deploy.md has ${text}`)
  return parse(hits[0] as string)
}

/**
 * A fresh copy of deploy/ with the component added to the overlay's
 * kustomization.yaml as the docs say, plus `extra` patches; its rendering.
 */
function renderEdited (name: string, mode: string, extra: unknown[] = []): K8sObject[] {
  const deploy = file(name)
  cpSync(join(ROOT, 'deploy'), deploy, { recursive: true })
  const k = join(deploy, 'overlays', mode, 'kustomization.yaml')
  const doc = parse(readFileSync(k, 'utf8')) as { components?: string[], patches?: unknown[] }
  doc.components = [...(doc.components ?? []), '../../components/prometheus-operator']
  if (extra.length > 0) doc.patches = [...(doc.patches ?? []), ...extra]
  writeFileSync(k, stringify(doc))
  return render(join(deploy, 'overlays', mode))
}

const plainOverlay = new Map<string, K8sObject[]>()
const withMonitor = new Map<string, K8sObject[]>()
before(() => {
  for (const mode of MODES) {
    withMonitor.set(mode, renderEdited(`deploy-${mode}`, mode))
    plainOverlay.set(mode, render(`overlays/${mode}`))
  }
})
const monitor = (mode: string): K8sObject => one(withMonitor.get(mode) as K8sObject[], 'PodMonitor', 'podmeter')
const deployment = (mode: string): K8sObject => one(withMonitor.get(mode) as K8sObject[], 'Deployment', 'podmeter')
const endpoint = (mode: string): any => {
  const endpoints = monitor(mode).spec.podMetricsEndpoints
  assert.equal(endpoints.length, 1, `${mode}: one endpoint, so no series is scraped twice`)
  return endpoints[0]
}

interface Selector { matchLabels?: Record<string, string>, matchExpressions?: Array<{ key: string, operator: string, values?: string[] }> }

/** A Kubernetes label selector, evaluated. */
function selects (s: Selector, labels: Record<string, string>): boolean {
  const eq = Object.entries(s.matchLabels ?? {}).every(([k, v]) => labels[k] === v)
  return eq && (s.matchExpressions ?? []).every((e) => {
    const has = Object.hasOwn(labels, e.key)
    switch (e.operator) {
      case 'In': return has && (e.values ?? []).includes(labels[e.key] as string)
      case 'NotIn': return !has || !(e.values ?? []).includes(labels[e.key] as string)
      case 'Exists': return has
      case 'DoesNotExist': return !has
      default: throw new Error(`unknown operator ${e.operator}`)
    }
  })
}

/**
 * Prometheus's `replace` relabelling (the only action the PodMonitor uses),
 * with its defaults: separator ";", regex "(.*)" anchored, replacement "$1";
 * an empty result deletes the label. Labels starting with __ go at the end.
 */
function relabel (target: Record<string, string>, rules: any[]): Record<string, string> {
  const out = { ...target }
  for (const r of rules) {
    assert.equal(r.action ?? 'replace', 'replace', 'the simulation knows replace only')
    const value = (r.sourceLabels ?? []).map((l: string) => out[l] ?? '').join(r.separator ?? ';')
    const m = new RegExp(`^(?:${String(r.regex ?? '(.*)')})$`).exec(value)
    if (m === null) continue
    const result = String(r.replacement ?? '$1').replace(/\$\{?(\d+)\}?/g, (_, i: string) => m[Number(i)] ?? '')
    if (result === '') delete out[r.targetLabel]
    else out[r.targetLabel] = result
  }
  return Object.fromEntries(Object.entries(out).filter(([k]) => !k.startsWith('__')))
}

// Prometheus's Accept header for each scrape protocol (config.ScrapeProtocolsHeaders).
const PROTOCOL_TYPES: Record<string, string> = {
  PrometheusProto: 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited',
  'OpenMetricsText1.0.0': 'application/openmetrics-text;version=1.0.0',
  'OpenMetricsText0.0.1': 'application/openmetrics-text;version=0.0.1',
  'PrometheusText1.0.0': 'text/plain;version=1.0.0',
  'PrometheusText0.0.4': 'text/plain;version=0.0.4'
}

/** The Accept header as Prometheus builds it (scrape.acceptHeader): q falling from 0.6, then any type. */
function acceptHeader (protocols: string[]): string {
  let weight = Object.keys(PROTOCOL_TYPES).length + 1
  const vals = protocols.map((p) => {
    const escaping = p.endsWith('1.0.0') ? ';escaping=allow-utf-8' : ''
    return `${PROTOCOL_TYPES[p] as string}${escaping};q=0.${weight--}`
  })
  return [...vals, `*/*;q=0.${weight}`].join(',')
}

/** A media type with its parameters, minus the ones that do not name a format. */
function mediaType (value: string): string[] {
  return value.split(';').map((s) => s.trim().toLowerCase().replace(/\s*=\s*/, '='))
    .filter((s) => !/^(q|charset|escaping)=/.test(s))
}

test('the component adds one PodMonitor to each overlay, valid for the operator\'s schema, and changes nothing else', () => {
  for (const mode of MODES) {
    const pm = monitor(mode)
    assert.equal(pm.apiVersion, 'monitoring.coreos.com/v1')
    assert.doesNotThrow(() => new PodMonitor(pm as any).validate(), mode)
    const rest = (withMonitor.get(mode) as K8sObject[]).filter((o) => o.kind !== 'PodMonitor')
    assert.deepEqual(rest, plainOverlay.get(mode), `${mode}: the other objects are the overlay's own`)
  }
})

test('the schema check is not a formality: it refuses a number for a duration and an unknown protocol', () => {
  const pm = structuredClone(monitor('plain'))
  pm.spec.podMetricsEndpoints[0].interval = 5
  assert.throws(() => new PodMonitor(pm as any).validate(), /interval must be string/)
  const bad = structuredClone(monitor('plain'))
  bad.spec.scrapeProtocols = ['Protobuf']
  assert.throws(() => new PodMonitor(bad as any).validate(), /scrapeProtocols\/0 must be equal to one of the allowed values/)
})

test('it selects the server pods in its own namespace, and not the client Job\'s', () => {
  const job = one(render('overlays/client'), 'Job')
  for (const mode of MODES) {
    const pm = monitor(mode)
    const d = deployment(mode)
    assert.equal(pm.metadata.namespace, d.metadata.namespace, `${mode}: the overlay's namespace`)
    assert.equal(pm.spec.namespaceSelector, undefined, `${mode}: no other namespace`)
    assert.ok(selects(pm.spec.selector, d.spec.template.metadata.labels), `${mode}: the Deployment's pods`)
    assert.ok(!selects(pm.spec.selector, job.spec.template.metadata.labels), `${mode}: not the load client`)
  }
})

test('it scrapes the container port that serves /metrics, every 5 s, within the interval', () => {
  for (const mode of MODES) {
    const ep = endpoint(mode)
    const c = deployment(mode).spec.template.spec.containers.find((x: any) => x.name === 'podmeter')
    const port = c.ports.find((p: any) => p.name === ep.port)
    assert.ok(port !== undefined, `${mode}: the podmeter container has a port named ${String(ep.port)}`)
    const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]))
    assert.equal(port.containerPort, loadConfig([], env).port, `${mode}: the measured listener (PORT)`)
    assert.equal(ep.path, '/metrics')
    assert.equal(ep.interval, '5s')
    assert.ok(Number.parseFloat(ep.scrapeTimeout) < Number.parseFloat(ep.interval), `${mode}: Prometheus refuses a timeout above the interval`)
  }
})

test('every series gets namespace, pod and container from the target (what the dashboard groups by)', () => {
  for (const mode of MODES) {
    const d = deployment(mode)
    const target = {
      __address__: '10.0.0.7:8080',
      __meta_kubernetes_namespace: d.metadata.namespace as string,
      __meta_kubernetes_pod_name: 'podmeter-7d9f8b6c4-x2k9q',
      __meta_kubernetes_pod_container_name: 'podmeter',
      __meta_kubernetes_pod_container_port_name: 'http'
    }
    const labels = relabel(target, endpoint(mode).relabelings)
    assert.equal(labels.namespace, d.metadata.namespace, mode)
    assert.equal(labels.pod, 'podmeter-7d9f8b6c4-x2k9q', mode)
    assert.equal(labels.container, 'podmeter', mode)
  }
})

test('it asks for protobuf first, with native and classic histograms; a real PodMeter answers in a format it asked for', async () => {
  const pm = monitor('sidecar')
  assert.equal(pm.spec.scrapeProtocols[0], 'PrometheusProto', 'the only format that carries native histograms')
  assert.equal(pm.spec.scrapeNativeHistograms, true, 'Prometheus >= 3.8 ingests them only when asked')
  assert.equal(pm.spec.scrapeClassicHistograms, true, 'the dashboard\'s classic row needs the _bucket series too')
  const server = await startServer()
  try {
    const r = await request(server.url + String(endpoint('sidecar').path), { headers: { accept: acceptHeader(pm.spec.scrapeProtocols) } })
    assert.equal(r.status, 200)
    const got = mediaType(String(r.headers['content-type']))
    const asked = (pm.spec.scrapeProtocols as string[]).map((p) => mediaType(PROTOCOL_TYPES[p] as string))
    assert.ok(asked.some((a) => a[0] === got[0] && a.every((param) => got.includes(param))), `${String(r.headers['content-type'])} is one of ${JSON.stringify(asked)}`)
    // Metric names are plain bytes in every format, protobuf included.
    assert.ok(r.body.includes('podmeter_request_duration_seconds'))
  } finally {
    await server.shutdown()
  }
})

test('STRICT mTLS in sidecar mode: the documented patch scrapes the baseline port, which skips the sidecar and serves the same figures', async () => {
  const list = renderEdited('deploy-strict', 'sidecar', docPatch('value: baseline').patches)
  const pm = one(list, 'PodMonitor', 'podmeter')
  assert.doesNotThrow(() => new PodMonitor(pm as any).validate())
  const d = one(list, 'Deployment', 'podmeter')
  const c = d.spec.template.spec.containers.find((x: any) => x.name === 'podmeter')
  const port = c.ports.find((p: any) => p.name === pm.spec.podMetricsEndpoints[0].port)
  const config = loadConfig([], Object.fromEntries(c.env.map((e: any) => [e.name, e.value])))
  assert.equal(port?.containerPort, config.baselinePort)
  const excluded = String(d.spec.template.metadata.annotations['traffic.sidecar.istio.io/excludeInboundPorts']).split(',')
  assert.ok(excluded.includes(String(port.containerPort)), 'the sidecar does not capture it, so STRICT does not apply')
  // The baseline listener's /metrics reports the main listener's requests.
  const server = await startServer({ baselinePort: 0, delayUs: 0 })
  try {
    assert.equal((await request(server.url + '/')).status, 200)
    const r = await request(String(server.baseline?.url) + '/metrics', { headers: { accept: 'text/plain;version=0.0.4' } })
    assert.match(r.body, /^podmeter_requests_total\{code="200"\} 1$/m)
  } finally {
    await server.shutdown()
  }
})

test('operators before v0.88: the documented patch removes scrapeNativeHistograms and nothing else', () => {
  const list = renderEdited('deploy-old-crd', 'plain', docPatch('path: /spec/scrapeNativeHistograms').patches)
  const pm = one(list, 'PodMonitor', 'podmeter')
  const expected = structuredClone(monitor('plain'))
  delete expected.spec.scrapeNativeHistograms
  assert.deepEqual(pm, expected)
})
