// The cost queries' templates and options: placeholders filled with the
// run's values (and a component skipped when one is unknown), the default
// set's every template using known placeholders only, a user's file laid
// over the defaults and refused whole when anything in it is wrong, and the
// cost options read from flags and $PODMETER_PROMETHEUS.

import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { test } from 'node:test'
import { parseArgs, Reader, UsageError } from '../../src/cli/args.js'
import { promDuration } from '../../src/cli/cost/collect.js'
import { readCostOptions } from '../../src/cli/cost/options.js'
import { CADVISOR, QUERY_SETS } from '../../src/cli/cost/queries.js'
import { fill, PLACEHOLDERS, placeholdersOf, readQuerySet, type Values } from '../../src/cli/cost/templates.js'
import { LOAD_SPEC } from '../../src/cli/load.js'
import { tempFiles } from '../support/helpers.js'

const file = tempFiles('cost-templates')
const VALUES: Values = { namespace: 'ns', pod: 'p-1', node: 'node-a', client_node: 'node-b', waypoint: 'waypoint', waypoint_namespace: 'ns', istio_namespace: 'istio-system', range: '30s' }

test('placeholders: PromQL\'s own braces are not taken for one; every one filled, or the first unknown named', () => {
  const t = 'rate(x{namespace="{namespace}",pod=~"{pod}-[a-z0-9]{5}"}[{range}]) or y{node="{node}"}'
  assert.deepEqual(placeholdersOf(t), ['namespace', 'pod', 'range', 'node'])
  assert.deepEqual(fill(t, VALUES), { query: 'rate(x{namespace="ns",pod=~"p-1-[a-z0-9]{5}"}[30s]) or y{node="node-a"}' })
  assert.deepEqual(fill(t, { ...VALUES, pod: null, node: null }), { unknown: 'pod' })
  assert.deepEqual(fill('up', { ...VALUES, namespace: null }), { query: 'up' })
  assert.equal(promDuration(30), '30s')
  assert.equal(promDuration(1.5), '1500ms')
})

test('the built-in sets use known placeholders only; the default is cAdvisor\'s, with the five components', () => {
  assert.equal(readQuerySet(undefined), CADVISOR)
  assert.equal(readQuerySet('cadvisor'), CADVISOR)
  assert.deepEqual(Object.keys(CADVISOR), ['app', 'sidecar', 'ztunnel', 'ztunnel_client', 'waypoint'])
  for (const [set, queries] of Object.entries(QUERY_SETS)) {
    for (const [name, q] of Object.entries(queries)) {
      for (const text of [q.cpu, q.memory]) for (const p of placeholdersOf(text)) assert.ok(p in PLACEHOLDERS, `${set} ${name}: {${p}}`)
    }
  }
})

test('--cost-queries FILE: laid over the defaults; null leaves one out; refused whole, with what is wrong', () => {
  const write = (name: string, doc: unknown): string => { const p = file(name); writeFileSync(p, typeof doc === 'string' ? doc : JSON.stringify(doc)); return p }
  const set = readQuerySet(write('ok.json', { waypoint: null, app: { cpu: 'a{pod="{pod}"}', memory: 'b' }, extra_1: { cpu: 'c', memory: 'd' } }))
  assert.deepEqual(Object.keys(set), ['app', 'sidecar', 'ztunnel', 'ztunnel_client', 'extra_1'])
  assert.deepEqual(set.app, { cpu: 'a{pod="{pod}"}', memory: 'b' })
  assert.deepEqual(set.sidecar, CADVISOR.sidecar)
  const refused: Array<[unknown, RegExp]> = [
    ['{"app": ', /: not JSON \(/],
    [[1], /not a JSON object of component/],
    [{ app: { cpu: 'x' } }, /app\.memory is not a PromQL template/],
    [{ app: { cpu: 'x', memory: '  ' } }, /app\.memory is not a PromQL template/],
    [{ app: { cpu: 'x', memory: 'y', step: '1s' } }, /app has "step": a component has "cpu" and "memory" only/],
    [{ app: 'x' }, /app is not \{"cpu": "…", "memory": "…"\}/],
    [{ app: { cpu: 'x{pod="{pods}"}', memory: 'y' } }, /app\.cpu uses \{pods\}; the placeholders are \{namespace\} \{pod\} \{node\}/],
    [{ 'Bad-Name': { cpu: 'x', memory: 'y' } }, /"Bad-Name" is not a component name/],
    [{ __proto__: { cpu: 'x', memory: 'y' } }, /"__proto__" is not a component name/],
    [{ app: { cpu: 'x'.repeat(5000), memory: 'y' } }, /app\.cpu is over 4000 characters/],
    [{ app: null, sidecar: null, ztunnel: null, ztunnel_client: null, waypoint: null }, /no component left to measure/]
  ]
  for (const [i, [doc, message]] of refused.entries()) {
    // JSON.stringify drops a literal __proto__ key; write it as text.
    const text = i === 8 ? '{"__proto__": {"cpu": "x", "memory": "y"}}' : doc
    assert.throws(() => readQuerySet(write(`bad-${i}.json`, text)), (err: Error) => err instanceof UsageError && message.test(err.message), String(message))
  }
  assert.throws(() => readQuerySet(file('none.json')), /--cost-queries .*none\.json: no such file \(nor a built-in set: cadvisor\)/)
})

test('cost options: --prometheus or $PODMETER_PROMETHEUS; defaults; bad values refused; cost options without a Prometheus refused', () => {
  const read = (args: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof readCostOptions> => readCostOptions(new Reader(parseArgs([...args, 'http://x/'], LOAD_SPEC), LOAD_SPEC), env)
  assert.equal(read([]), null)
  assert.equal(read([], { PODMETER_PROMETHEUS: '' }), null)
  const o = read(['--prometheus', 'http://prometheus.istio-system:9090'])
  assert.equal(o?.prometheus.href, 'http://prometheus.istio-system:9090/')
  assert.deepEqual({ ...o, prometheus: undefined, queries: undefined }, { prometheus: undefined, queries: undefined, stepS: 15, rangeS: 30, namespace: null, waypoint: 'waypoint', waypointNamespace: null, istioNamespace: 'istio-system' })
  assert.equal(read([], { PODMETER_PROMETHEUS: 'https://prom.example:443/p' })?.prometheus.href, 'https://prom.example/p')
  assert.equal(read(['--prometheus', 'http://a:1'], { PODMETER_PROMETHEUS: 'http://b:2' })?.prometheus.host, 'a:1', 'the flag wins')
  const all = read(['--prometheus', 'http://p:9090', '--cost-step', '5s', '--cost-range', '2m', '--namespace', 'apps', '--waypoint', 'mesh/wp-1', '--istio-namespace', 'istio'])
  assert.deepEqual([all?.stepS, all?.rangeS, all?.namespace, all?.waypoint, all?.waypointNamespace, all?.istioNamespace], [5, 120, 'apps', 'wp-1', 'mesh', 'istio'])
  for (const [args, env, message] of [
    [['--prometheus', 'ftp://p'], {}, /--prometheus: ftp:\/\/p: a Prometheus URL is http:\/\/ or https:\/\//],
    [['--prometheus', 'not a url'], {}, /--prometheus: "not a url" is not a URL/],
    [[], { PODMETER_PROMETHEUS: 'prom:9090' }, /\$PODMETER_PROMETHEUS: prom:9090: a Prometheus URL is http/],
    [['--prometheus', 'http://p', '--namespace', 'Apps'], {}, /--namespace: "Apps" is not a Kubernetes name/],
    [['--prometheus', 'http://p', '--waypoint', 'a/b/c'], {}, /--waypoint: "b\/c" is not a Kubernetes name/],
    [['--prometheus', 'http://p', '--cost-step', '0'], {}, /--cost-step: "0" is not a duration/],
    [['--prometheus', 'http://p', '--cost-range', '500ms'], {}, /--cost-range: "500ms" is not a duration from 1s/],
    [['--cost-range', '1m'], {}, /--cost-range is for the cost figures: give --prometheus URL \(or \$PODMETER_PROMETHEUS\)/]
  ] as Array<[string[], NodeJS.ProcessEnv, RegExp]>) {
    assert.throws(() => read(args, env), (err: Error) => err instanceof UsageError && message.test(err.message), `${args.join(' ')}: ${String(message)}`)
  }
})
