// deploy/grafana/podmeter.json: importable anywhere (no data source of ours
// named in it), and every query asks for metrics PodMeter has. Also the
// extractor in test/support/dashboard.ts, on a fixture with every shape of
// panel and variable it must find.

/* eslint-disable no-template-curly-in-string -- ${name} is Grafana's syntax here, not JavaScript's */

import assert from 'node:assert/strict'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { DASHBOARD, dashboardQueries, substitute } from '../support/dashboard.js'
import { ROOT, tempFiles } from '../support/helpers.js'

const file = tempFiles('dashboard')
const dashboard = JSON.parse(readFileSync(join(ROOT, DASHBOARD), 'utf8'))
const DS = { type: 'prometheus', uid: '${datasource}' }
/** The counter being added with the /metrics work of issue 16, beside code="aborted". */
const COMING = new Set(['podmeter_requests_aborted_total'])
/** 11 panel queries (one table, seven graphs, a collapsed row with one more) and the namespace variable's. */
const EXPRESSIONS = 12

const allPanels = (panels: any[]): any[] => panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])])

/** Metric names in a PromQL expression: identifiers outside strings, matchers, ranges and grouping, not called as functions. */
function metricNames (expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
  const keywords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'inf', 'nan'])
  return [...bare.matchAll(/[A-Za-z_:][\w:]*/g)]
    .filter((m) => !/^\s*\(/.test(bare.slice((m.index) + m[0].length)) && !keywords.has(m[0].toLowerCase()))
    .map((m) => m[0])
}

/** Every string literal in src/main: where PodMeter names its metrics. */
function sourceStrings (): Set<string> {
  const dir = join(ROOT, 'src/main')
  const files = readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.ts'))
  const text = files.map((f) => readFileSync(join(dir, f), 'utf8')).join('\n')
  return new Set([...text.matchAll(/'([a-z_:][a-z0-9_:]*)'/g)].map((m) => m[1] as string))
}

describe('deploy/grafana/podmeter.json', () => {
  test('parses, with the uid, schema version and panel ids an import needs', () => {
    assert.equal(dashboard.uid, 'podmeter')
    assert.equal(dashboard.schemaVersion, 39)
    assert.equal(dashboard.id, null, 'Grafana assigns the id on import')
    const ids = allPanels(dashboard.panels).map((p) => p.id)
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique')
    for (const p of allPanels(dashboard.panels)) {
      assert.ok(Number.isInteger(p.id) && typeof p.title === 'string' && p.title !== '', `panel ${String(p.id)}`)
      for (const k of ['h', 'w', 'x', 'y']) assert.ok(Number.isInteger(p.gridPos?.[k]), `${String(p.title)}: gridPos.${k}`)
    }
  })

  test('every panel, query and variable uses the datasource variable: no data source uid of ours', () => {
    const v = dashboard.templating.list.find((x: any) => x.name === 'datasource')
    assert.deepEqual({ type: v?.type, query: v?.query }, { type: 'datasource', query: 'prometheus' })
    for (const p of allPanels(dashboard.panels).filter((x) => x.type !== 'row')) {
      assert.deepEqual(p.datasource, DS, p.title)
      for (const t of p.targets) assert.deepEqual(t.datasource, DS, `${String(p.title)} ${String(t.refId)}`)
    }
    for (const x of dashboard.templating.list.filter((x: any) => x.type === 'query')) assert.deepEqual(x.datasource, DS, x.name)
    // Anywhere in the file: a data source is the variable, or Grafana's built-in one (annotations).
    const uids: string[] = []
    JSON.stringify(dashboard, (key, value) => {
      if (key === 'datasource' && typeof value === 'object' && value !== null) uids.push(value.uid)
      return value
    })
    assert.ok(uids.length > 0)
    for (const uid of uids) assert.ok(uid === '${datasource}' || uid === '-- Grafana --', uid)
  })

  test('the namespace variable: every namespace with a PodMeter, several at once, All included', () => {
    const v = dashboard.templating.list.find((x: any) => x.name === 'namespace')
    assert.equal(v.type, 'query')
    assert.equal(v.query.query, 'label_values(podmeter_mesh_info, namespace)')
    assert.equal(v.multi, true)
    assert.equal(v.includeAll, true)
  })

  test(`${EXPRESSIONS} expressions, every variable substituted, the namespace filter in each`, () => {
    const qs = dashboardQueries()
    assert.equal(qs.length, EXPRESSIONS, JSON.stringify(qs.map((q) => `${q.panel} ${q.refId}`)))
    assert.equal(new Set(qs.map((q) => `${q.panel} ${q.refId}`)).size, qs.length, 'panel and refId name one query')
    for (const q of qs) assert.ok(!q.expr.includes('$'), `${q.panel} ${q.refId}: ${q.expr}`)
    const chosen = dashboardQueries(DASHBOARD, { namespace: 'podmeter-sidecar|podmeter-ambient', rate: '1m' })
    for (const q of chosen.filter((x) => !x.panel.startsWith('variable '))) {
      assert.ok(q.expr.includes('namespace=~"podmeter-sidecar|podmeter-ambient"'), `${q.panel} ${q.refId}: ${q.expr}`)
    }
    assert.ok(chosen.some((q) => q.expr.includes('[1m]')))
    assert.ok(qs.some((q) => q.panel === 'Latency p50 and p99 (classic buckets)'), 'the collapsed row\'s panel is found')
  })

  test('every metric it queries is one PodMeter exposes (or a prom-client default)', () => {
    const known = sourceStrings()
    assert.ok(known.has('podmeter_mesh_info'), 'the metric names are found in src/main')
    for (const q of dashboardQueries()) {
      const names = metricNames(q.expr)
      assert.ok(names.length > 0, `${q.panel} ${q.refId}: ${q.expr} names a metric`)
      for (const name of names) {
        const ok = known.has(name) || /^(process|nodejs)_/.test(name) || COMING.has(name)
        assert.ok(ok, `${q.panel} ${q.refId}: ${name} is not a PodMeter metric`)
      }
    }
  })

  test('latency: native histogram by its bare name, classic by _bucket with le, both in seconds', () => {
    const qs = dashboardQueries()
    const native = qs.filter((q) => q.expr.includes('podmeter_request_duration_seconds{'))
    const classic = qs.filter((q) => q.expr.includes('podmeter_request_duration_seconds_bucket{'))
    assert.deepEqual(native.map((q) => q.expr.slice(0, 24)), ['histogram_quantile(0.5, ', 'histogram_quantile(0.99,'])
    assert.deepEqual(classic.map((q) => q.expr.slice(0, 24)), ['histogram_quantile(0.5, ', 'histogram_quantile(0.99,'])
    for (const q of native) assert.match(q.expr, /sum by \(namespace\) \(rate\(/)
    for (const q of classic) assert.match(q.expr, /sum by \(namespace, le\) \(rate\(/)
    for (const p of allPanels(dashboard.panels).filter((x) => x.title.startsWith('Latency'))) assert.equal(p.fieldConfig.defaults.unit, 's')
  })
})

describe('dashboardQueries', () => {
  const FIXTURE = 'test/fixtures/grafana/rows.json'

  test('finds targets at the top, after an expanded row, inside a collapsed one, hidden ones too, and query variables', () => {
    assert.deepEqual(dashboardQueries(FIXTURE), [
      { panel: 'top', refId: 'A', expr: 'rate(a_total{namespace=~".+"}[15s])' },
      { panel: 'top', refId: 'B', expr: 'rate(b_total{namespace=~".+"}[15s])' },
      { panel: 'after the expanded row', refId: 'A', expr: 'sum by (pod) (c{pod=~"[[pod]]", namespace=~".+"})' },
      { panel: 'inside', refId: 'A', expr: 'label_replace(d, "x", "$1", "y", "(.*)")' },
      { panel: 'variable namespace', refId: 'namespace', expr: 'up{job="a", x="b"}' },
      { panel: 'variable pod', refId: 'pod', expr: 'count by (pod) (up{namespace=~".+"})' }
    ])
  })

  test('substitutes the variables it is given, in each of Grafana\'s three syntaxes, and leaves the rest', () => {
    const vars = { namespace: 'ns-a', rate: '2m', pod: 'p-1' }
    assert.equal(substitute('x{a=~"$namespace", b=~"${namespace:regex}", c=~"[[namespace]]"}[$__rate_interval]', vars), 'x{a=~"ns-a", b=~"ns-a", c=~"ns-a"}[2m]')
    assert.equal(substitute('rate(x[${__interval}]) + $pod + $other + $1', vars), 'rate(x[2m]) + p-1 + $other + $1')
    assert.equal(substitute('$rate', vars), '$rate', 'rate sets the intervals; it is no variable')
  })

  test('refuses what it cannot turn into an expression, so that none is left out unseen', () => {
    const write = (name: string, d: unknown): string => { writeFileSync(file(name), JSON.stringify(d)); return file(name) }
    const bareLabel = write('bare.json', { templating: { list: [{ name: 'job', type: 'query', query: 'label_values(job)' }] } })
    assert.throws(() => dashboardQueries(bareLabel), /variable job: "label_values\(job\)" has no PromQL expression/)
    const library = write('library.json', { panels: [{ title: 'shared', libraryPanel: { uid: 'x' } }] })
    assert.throws(() => dashboardQueries(library), /panel shared: a library panel/)
  })
})
