import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { before, describe, test } from 'node:test'
import { Gateway } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1'
import { Deployment } from 'kubernetes-models/apps/v1'
import { Job } from 'kubernetes-models/batch/v1'
import { ConfigMap, Namespace, Service } from 'kubernetes-models/v1'
import { parseArgs, Reader } from '../../src/cli/args.js'
import { COMPARE_SPEC } from '../../src/cli/compare.js'
import { LOAD_SPEC } from '../../src/cli/load.js'
import { parseUrl, readLoadOptions } from '../../src/cli/load-options.js'
import { parseTcpUrl, readTcpLoadOptions } from '../../src/cli/tcp-options.js'
import { loadConfig } from '../../src/cli/serve.js'
import { SETTINGS, type ServerConfig } from '../../src/shared/config.js'
import { request, ROOT, startServer } from '../support/helpers.js'
import { container, expandArgs, one, podOf, render, type K8sObject } from '../support/kustomize.js'

const MODES = ['plain', 'sidecar', 'ambient', 'ambient-waypoint'] as const
const CLIENTS = ['client', 'client-baseline', 'client-same-node', 'client-cross-node', 'client-tcp'] as const
const NAMESPACE: Record<(typeof MODES)[number], string> = {
  plain: 'podmeter-plain', sidecar: 'podmeter-sidecar', ambient: 'podmeter-ambient', 'ambient-waypoint': 'podmeter-waypoint'
}
/** Envoy's default idle timeout for upstream connections (sidecar and waypoint alike): 1 hour. */
const ENVOY_IDLE_TIMEOUT_MS = 3_600_000
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version

// Schemas from kubernetes-models 4.x (the Kubernetes OpenAPI) and its Gateway API models.
const MODELS: Record<string, (o: K8sObject) => { validate: () => void }> = {
  'v1/Namespace': (o) => new Namespace(o as any),
  'v1/Service': (o) => new Service(o as any),
  'v1/ConfigMap': (o) => new ConfigMap(o as any),
  'apps/v1/Deployment': (o) => new Deployment(o as any),
  'batch/v1/Job': (o) => new Job(o as any),
  'gateway.networking.k8s.io/v1/Gateway': (o) => new Gateway(o as any)
}

const rendered = new Map<string, K8sObject[]>()
before(() => { for (const dir of [...MODES, ...CLIENTS]) rendered.set(dir, render(`overlays/${dir}`)) })
const objects = (dir: string): K8sObject[] => rendered.get(dir) as K8sObject[]

const portNumber = (c: any, name: string): number => {
  const p = c.ports?.find((x: any) => x.name === name)
  assert.ok(p !== undefined, `container ${c.name} has a port named ${name}`)
  return p.containerPort as number
}

/** The server's settings exactly as the manifest's env gives them, through the real parser. */
function serverConfig (d: K8sObject): ServerConfig {
  const env: Record<string, string> = {}
  for (const e of container(d, 'podmeter').env ?? []) {
    // Not a setting: a fact about the pod, from the Downward API.
    if (e.name === 'NODE_NAME') { assert.deepEqual(e.valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } }); continue }
    if (e.name === 'POD_NAMESPACE') { assert.deepEqual(e.valueFrom, { fieldRef: { fieldPath: 'metadata.namespace' } }); continue }
    assert.ok(SETTINGS.some((s) => s.env === e.name), `${e.name} is a PodMeter setting`)
    assert.equal(typeof e.value, 'string', `${e.name} has a literal value`)
    env[e.name] = e.value
  }
  return loadConfig([], env)
}

test('every overlay renders, and every object validates against the Kubernetes schemas', () => {
  for (const [dir, list] of rendered) {
    assert.ok(list.length > 0, dir)
    for (const o of list) {
      const model = MODELS[`${o.apiVersion}/${o.kind}`]
      assert.ok(model !== undefined, `deploy/overlays/${dir}: ${o.apiVersion} ${o.kind} has a schema check`)
      assert.doesNotThrow(() => model(o).validate(), `deploy/overlays/${dir}: ${o.kind} ${o.metadata.name}`)
    }
  }
})

test('the schema check is not a formality: it refuses a wrong type and a missing field', () => {
  const d = structuredClone(one(objects('plain'), 'Deployment'))
  d.spec.template.spec.containers[0].ports[0].containerPort = '8080'
  assert.throws(() => new Deployment(d as any).validate(), /containerPort must be integer/)
  const g = structuredClone(one(objects('ambient-waypoint'), 'Gateway'))
  delete g.spec.gatewayClassName
  assert.throws(() => new Gateway(g as any).validate(), /gatewayClassName/)
})

test('every pod meets the restricted Pod Security Standard and has resources, a pinned image and a writable /tmp only', () => {
  for (const [dir, list] of rendered) {
    for (const w of list.filter((o) => o.kind === 'Deployment' || o.kind === 'Job')) {
      const where = `${dir}: ${w.kind} ${w.metadata.name}`
      const pod = podOf(w).spec
      assert.equal(pod.securityContext?.runAsNonRoot, true, where)
      assert.equal(pod.securityContext?.runAsUser, 1000, `${where}: the image's numeric user`)
      assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', where)
      assert.equal(pod.automountServiceAccountToken, false, `${where}: PodMeter never calls the API server`)
      for (const k of ['hostNetwork', 'hostPID', 'hostIPC']) assert.notEqual(pod[k], true, `${where}: ${k}`)
      for (const v of pod.volumes ?? []) {
        assert.ok(['emptyDir', 'configMap', 'downwardAPI'].some((k) => k in v), `${where}: volume ${v.name} is of a kind the restricted standard allows`)
      }
      assert.equal(pod.initContainers, undefined, where)
      for (const c of pod.containers) {
        const sc = c.securityContext ?? {}
        assert.equal(sc.allowPrivilegeEscalation, false, `${where}/${c.name}`)
        assert.deepEqual(sc.capabilities, { drop: ['ALL'] }, `${where}/${c.name}: drops ALL, adds none`)
        assert.equal(sc.readOnlyRootFilesystem, true, `${where}/${c.name}`)
        assert.notEqual(sc.privileged, true, `${where}/${c.name}`)
        assert.match(c.image, new RegExp(`(^|/)podmeter:${VERSION.replace(/\./g, '\\.')}$`), `${where}/${c.name}: the image from deploy/components/image, tagged with the package version`)
        for (const kind of ['requests', 'limits']) {
          for (const r of ['cpu', 'memory']) assert.ok(c.resources?.[kind]?.[r] !== undefined, `${where}/${c.name}: ${kind}.${r}`)
        }
        const tmp = c.volumeMounts?.find((m: any) => m.mountPath === '/tmp')
        assert.ok(tmp !== undefined && pod.volumes.find((v: any) => v.name === tmp.name)?.emptyDir !== undefined, `${where}/${c.name}: /tmp is an emptyDir`)
        for (const m of c.volumeMounts ?? []) {
          if (m.mountPath !== '/tmp') assert.equal(m.readOnly, true, `${where}/${c.name}: ${m.mountPath} is read-only`)
        }
      }
    }
  }
})

describe('the server Deployment', () => {
  test('settings: valid for PodMeter, keep-alive above Envoy\'s idle timeout, a grace period that covers the shutdown', () => {
    for (const mode of MODES) {
      const d = one(objects(mode), 'Deployment', 'podmeter')
      const c = container(d, 'podmeter')
      const config = serverConfig(d)
      assert.equal(config.port, portNumber(c, 'http'), mode)
      assert.equal(config.baselinePort, portNumber(c, 'baseline'), `${mode}: the in-pod baseline listener is on`)
      assert.equal(config.tcpEchoPort, portNumber(c, 'tcp-echo'), `${mode}: the TCP echo is on, at its container port`)
      assert.ok(config.keepAliveTimeoutMs > ENVOY_IDLE_TIMEOUT_MS, `${mode}: KEEP_ALIVE_TIMEOUT_MS ${config.keepAliveTimeoutMs} ms must exceed Envoy's ${ENVOY_IDLE_TIMEOUT_MS} ms (503 UC)`)
      assert.ok(config.shutdownDelayMs >= 3000, `${mode}: SHUTDOWN_DELAY_MS keeps answering while the endpoints go away`)
      assert.equal(c.lifecycle?.preStop, undefined, `${mode}: no preStop sleep on top of SHUTDOWN_DELAY_MS`)
      assert.ok(podOf(d).spec.terminationGracePeriodSeconds * 1000 >= config.shutdownGraceMs + 2000, `${mode}: terminationGracePeriodSeconds covers SHUTDOWN_GRACE_MS (the delay included) + 2 s`)
    }
  })

  test('probes: startup and readiness on /readyz, liveness on /livez, at the http port; they answer 200 on a real server', async () => {
    const d = one(objects('plain'), 'Deployment', 'podmeter')
    const c = container(d, 'podmeter')
    const probes = { startupProbe: '/readyz', readinessProbe: '/readyz', livenessProbe: '/livez' }
    const pm = await startServer({ ...serverConfig(d), host: '127.0.0.1', port: 0, baselinePort: 0, tcpEchoPort: 0 })
    try {
      for (const [probe, path] of Object.entries(probes)) {
        assert.deepEqual(c[probe]?.httpGet, { path, port: 'http' }, probe)
        assert.equal((await request(pm.url + path, { headers: { 'user-agent': 'kube-probe/1.33' } })).status, 200, `${probe} ${path}`)
      }
    } finally {
      await pm.shutdown()
    }
  })

  test('the Downward API puts the pod\'s labels and annotations where PodMeter reads them (PODINFO_DIR)', () => {
    for (const mode of MODES) {
      const d = one(objects(mode), 'Deployment', 'podmeter')
      const dir = serverConfig(d).podinfoDir
      const mount = container(d, 'podmeter').volumeMounts.find((m: any) => m.mountPath === dir)
      assert.ok(mount !== undefined, `${mode}: mounted at ${dir}`)
      const volume = podOf(d).spec.volumes.find((v: any) => v.name === mount.name)
      assert.deepEqual(volume?.downwardAPI?.items, [
        { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
        { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } }
      ], mode)
    }
  })

  test('Prometheus scrape annotations point at /metrics on the http port', () => {
    for (const mode of MODES) {
      const d = one(objects(mode), 'Deployment', 'podmeter')
      const a = podOf(d).metadata.annotations ?? {}
      assert.equal(a['prometheus.io/scrape'], 'true', mode)
      assert.equal(a['prometheus.io/port'], String(portNumber(container(d, 'podmeter'), 'http')), mode)
      assert.equal(a['prometheus.io/path'], '/metrics', mode)
    }
  })

  test('the Services select the pods, name their ports with their protocol, and the baseline and TCP echo Services are on their ports', () => {
    for (const mode of MODES) {
      const d = one(objects(mode), 'Deployment', 'podmeter')
      const c = container(d, 'podmeter')
      const labels = podOf(d).metadata.labels ?? {}
      for (const s of objects(mode).filter((o) => o.kind === 'Service')) {
        for (const [k, v] of Object.entries(s.spec.selector as Record<string, string>)) assert.equal(labels[k], v, `${mode}: ${s.metadata.name} selects the pods`)
        for (const p of s.spec.ports) {
          // Istio reads the protocol from appProtocol, else from the name's prefix: both say the same.
          const protocol = p.name.startsWith('tcp') ? 'tcp' : 'http'
          assert.ok(p.name === protocol || p.name.startsWith(`${protocol}-`), `${mode}: ${s.metadata.name} port ${p.name} is named for its protocol`)
          assert.equal(p.appProtocol, protocol, `${mode}: ${s.metadata.name} tells Istio the protocol`)
          assert.equal(p.port, portNumber(c, p.targetPort), `${mode}: ${s.metadata.name} port ${p.port} equals the pod's ${p.targetPort} port`)
        }
      }
      assert.equal(one(objects(mode), 'Service', 'podmeter').spec.ports[0].targetPort, 'http')
      assert.equal(one(objects(mode), 'Service', 'podmeter-baseline').spec.ports[0].targetPort, 'baseline')
      assert.deepEqual(one(objects(mode), 'Service', 'podmeter-tcp-echo').spec.ports, [{ name: 'tcp-echo', port: 8082, targetPort: 'tcp-echo', appProtocol: 'tcp' }], `${mode}: opaque TCP to Istio`)
    }
  })
})

describe('each overlay puts the pod in its mesh mode', () => {
  const labels = (mode: string): Record<string, string> => podOf(one(objects(mode), 'Deployment', 'podmeter')).metadata.labels ?? {}
  const annotations = (mode: string): Record<string, string> => podOf(one(objects(mode), 'Deployment', 'podmeter')).metadata.annotations ?? {}
  const nsLabels = (mode: (typeof MODES)[number]): Record<string, string> => one(objects(mode), 'Namespace', NAMESPACE[mode]).metadata.labels ?? {}
  const baselinePort = (mode: string): string => String(serverConfig(one(objects(mode), 'Deployment', 'podmeter')).baselinePort)

  test('each in its own namespace, which the overlay creates', () => {
    for (const mode of MODES) {
      for (const o of objects(mode)) {
        if (o.kind === 'Namespace') assert.equal(o.metadata.name, NAMESPACE[mode])
        else assert.equal(o.metadata.namespace, NAMESPACE[mode], `${mode}: ${o.kind} ${o.metadata.name}`)
      }
    }
  })

  test('plain: no sidecar, not ambient; restricted enforced', () => {
    assert.equal(labels('plain')['sidecar.istio.io/inject'], 'false')
    assert.equal(labels('plain')['istio.io/dataplane-mode'], undefined)
    assert.equal(nsLabels('plain')['istio-injection'], 'disabled')
    assert.equal(nsLabels('plain')['pod-security.kubernetes.io/enforce'], 'restricted')
  })

  test('sidecar: injected, the baseline port excluded from the sidecar, the namespace injecting the client too', () => {
    assert.equal(labels('sidecar')['sidecar.istio.io/inject'], 'true')
    assert.ok(annotations('sidecar')['traffic.sidecar.istio.io/excludeInboundPorts']?.split(',').includes(baselinePort('sidecar')))
    assert.equal(nsLabels('sidecar')['istio-injection'], 'enabled')
    assert.equal(nsLabels('sidecar')['pod-security.kubernetes.io/enforce'], undefined, 'istio-init needs NET_ADMIN without the Istio CNI')
  })

  test('ambient: the pod and the namespace in ambient mode, no sidecar', () => {
    for (const mode of ['ambient', 'ambient-waypoint'] as const) {
      assert.equal(labels(mode)['istio.io/dataplane-mode'], 'ambient', mode)
      assert.equal(labels(mode)['sidecar.istio.io/inject'], 'false', mode)
      assert.equal(annotations(mode)['traffic.sidecar.istio.io/excludeInboundPorts'], undefined, `${mode}: ambient has no per-port exclusion`)
      assert.equal(nsLabels(mode)['istio.io/dataplane-mode'], 'ambient', mode)
    }
    assert.equal(nsLabels('ambient')['pod-security.kubernetes.io/enforce'], 'restricted')
  })

  test('ambient-waypoint: an Istio waypoint Gateway, used by the podmeter Service and by nothing else', () => {
    const list = objects('ambient-waypoint')
    const gw = one(list, 'Gateway')
    assert.equal(gw.apiVersion, 'gateway.networking.k8s.io/v1')
    assert.equal(gw.spec.gatewayClassName, 'istio-waypoint')
    assert.equal(gw.metadata.labels?.['istio.io/waypoint-for'], 'service')
    assert.deepEqual(gw.spec.listeners, [{ name: 'mesh', port: 15008, protocol: 'HBONE' }])
    assert.equal(one(list, 'Service', 'podmeter').metadata.labels?.['istio.io/use-waypoint'], gw.metadata.name)
    assert.equal(one(list, 'Service', 'podmeter-baseline').metadata.labels?.['istio.io/use-waypoint'], undefined, 'the baseline measures ztunnel alone')
    assert.equal(one(list, 'Service', 'podmeter-tcp-echo').metadata.labels?.['istio.io/use-waypoint'], undefined, 'the TCP echo measures ztunnel alone')
    assert.equal(nsLabels('ambient-waypoint')['istio.io/use-waypoint'], undefined)
    assert.equal(labels('ambient-waypoint')['istio.io/use-waypoint'], undefined)
  })
})

describe('the client Jobs', () => {
  const server = (): ServerConfig => serverConfig(one(objects('plain'), 'Deployment', 'podmeter'))

  test('run their script from their ConfigMap, in the namespace they are applied to, and never twice', () => {
    for (const dir of CLIENTS) {
      const list = objects(dir)
      const job = one(list, 'Job')
      assert.equal(job.metadata.name, `podmeter-load${dir.slice('client'.length)}`)
      for (const o of list) assert.equal(o.metadata.namespace, undefined, `${dir}: no namespace, so kubectl apply -n picks it`)
      assert.equal(job.spec.completionMode, 'Indexed')
      assert.equal(job.spec.backoffLimit, 0, 'a failed pod is not retried: no run counted twice')
      assert.equal(job.spec.parallelism, job.spec.completions)
      assert.equal(podOf(job).spec.restartPolicy, 'Never')
      const c = container(job, 'load')
      assert.ok(!c.args.includes('-o'), 'the script adds -o')
      const [shell, script] = c.command as [string, string]
      assert.equal(shell, '/bin/sh')
      const mount = c.volumeMounts.find((m: any) => script.startsWith(m.mountPath + '/'))
      const volume = podOf(job).spec.volumes.find((v: any) => v.name === mount?.name)
      const cm = one(list, 'ConfigMap', volume?.configMap?.name)
      assert.equal(cm.data[script.slice(mount.mountPath.length + 1)], readFileSync(join(ROOT, 'deploy/overlays/client/run-client.sh'), 'utf8'))
      const a = podOf(job).metadata.annotations ?? {}
      assert.ok(a['traffic.sidecar.istio.io/excludeOutboundPorts']?.split(',').includes(String(server().baselinePort)), 'baseline requests leave the client past its sidecar')
      assert.deepEqual(JSON.parse(a['proxy.istio.io/config'] ?? '{}'), { holdApplicationUntilProxyStarts: true })
    }
  })

  test('client: podmeter load at the measured port, labelled with its namespace; arguments the real parser accepts', () => {
    const c = container(one(objects('client'), 'Job'), 'load')
    assert.deepEqual(c.env.find((e: any) => e.name === 'POD_NAMESPACE')?.valueFrom, { fieldRef: { fieldPath: 'metadata.namespace' } })
    const [command, ...rest] = expandArgs(c, { POD_NAMESPACE: 'podmeter-sidecar' })
    assert.equal(command, 'load')
    const parsed = parseArgs(rest, LOAD_SPEC)
    assert.equal(parsed.positionals.length, 1)
    const url = parsed.positionals[0] as string
    assert.ok(url.startsWith(`http://podmeter:${server().port}/`), url)
    const o = readLoadOptions(new Reader(parsed, LOAD_SPEC), parseUrl(url))
    assert.equal(o.label, 'podmeter-sidecar')
    assert.ok(o.qps !== undefined && o.durationUs !== undefined && o.durationUs >= 10_000_000, 'a fixed rate for long enough to see the tail')
  })

  test('client-tcp: podmeter load at the TCP echo Service, the pod\'s /stats read after it; arguments the real parser accepts', () => {
    const c = container(one(objects('client-tcp'), 'Job'), 'load')
    const [command, ...rest] = expandArgs(c, { POD_NAMESPACE: 'podmeter-ambient' })
    assert.equal(command, 'load')
    const parsed = parseArgs(rest, LOAD_SPEC)
    assert.equal(parsed.positionals.length, 1)
    const echoService = one(objects('plain'), 'Service', 'podmeter-tcp-echo')
    assert.equal(parsed.positionals[0], `tcp://${echoService.metadata.name}:${String(echoService.spec.ports[0].port)}`)
    const o = readTcpLoadOptions(new Reader(parsed, LOAD_SPEC), parseTcpUrl(parsed.positionals[0] as string))
    assert.equal(o.port, server().tcpEchoPort)
    assert.equal(o.load.label, 'podmeter-ambient-tcp')
    assert.ok(o.load.qps !== undefined && o.load.durationUs !== undefined && o.load.durationUs >= 10_000_000, 'a fixed rate for long enough to see the tail')
    assert.equal(o.load.statsUrl, `http://podmeter:${server().port}/stats`, 'the pod\'s own echo time, from the measured port\'s /stats')
  })

  test('client-baseline: podmeter compare, the baseline port first, then the measured port of the same pod; arguments the real parser accepts', () => {
    const c = container(one(objects('client-baseline'), 'Job'), 'load')
    const [command, ...rest] = expandArgs(c, {})
    assert.equal(command, 'compare')
    const parsed = parseArgs(rest, COMPARE_SPEC)
    assert.deepEqual(parsed.positionals, [])
    const r = new Reader(parsed, COMPARE_SPEC)
    const targets = r.all('target')
    assert.equal(targets.length, 2)
    assert.match(targets[0] as string, new RegExp(`^baseline=http://podmeter-baseline:${String(server().baselinePort)}/`))
    assert.match(targets[1] as string, new RegExp(`^meshed=http://podmeter:${server().port}/`))
    for (const t of targets) readLoadOptions(r, parseUrl(t.slice(t.indexOf('=') + 1)))
    assert.ok((r.int('rounds', 1, 1000) ?? 0) >= 3, 'enough rounds for a verdict')
  })
})
