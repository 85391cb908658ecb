// The lab's cost part, piece by piece: the PromQL it sends, the
// process-exporter config it writes (on real processes), /proc's figures at
// a scrape instant, and the checks that compare the two.

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { CostRun, CostWindow } from '../../lab/cost.js'
import { PROCESS_EXPORTER_QUERIES, render } from '../../lab/cost-queries.js'
import { checkCost, costTable } from '../../lab/cost-report.js'
import { exporterConfig } from '../../lab/exporter.js'
import { processTree, ProcSampler, readGroup } from '../../lab/proc-sampler.js'

test('the queries: the window\'s two scrape timestamps to the millisecond, their distance, and the groups', () => {
  const w = { groups: 'sidecar/.*', start: 1796305297.217, end: 1796305301.2169 }
  const cpu = render(PROCESS_EXPORTER_QUERIES.cpu, w)
  assert.equal(cpu, '(sum by (groupname) (namedprocess_namegroup_cpu_seconds_total{groupname=~"sidecar/.*"} @ 1796305301.217) - ' +
    'sum by (groupname) (namedprocess_namegroup_cpu_seconds_total{groupname=~"sidecar/.*"} @ 1796305297.217)) / 4.000')
  assert.equal(render(PROCESS_EXPORTER_QUERIES.memory, w),
    'max by (groupname) (max_over_time(namedprocess_namegroup_memory_bytes{memtype="resident",groupname=~"sidecar/.*"}[4000ms] @ 1796305301.217))')
  for (const q of Object.values(PROCESS_EXPORTER_QUERIES)) assert.doesNotMatch(render(q, w), /\$/, q)
  assert.throws(() => render(PROCESS_EXPORTER_QUERIES.cpu, { ...w, groups: 'a"} or vector(1) #' }), /not a group regex/)
  assert.throws(() => render(PROCESS_EXPORTER_QUERIES.cpu, { ...w, end: w.start }), /an empty window/)
})

test('the exporter\'s config: one group per process, by a whole argument under the work dir that no other stand-in has', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podmeter-cost-test-'))
  const idle = 'setTimeout(() => {}, 60_000)'
  const a = spawn(process.execPath, ['-e', idle, join(dir, 'a.conf'), join(dir, 'shared')], { stdio: 'ignore' })
  const b = spawn(process.execPath, ['-e', idle, join(dir, 'a.conf.2'), join(dir, 'shared')], { stdio: 'ignore' })
  const c = spawn(process.execPath, ['-e', idle, join(dir, 'shared')], { stdio: 'ignore' })
  t.after(async () => {
    for (const child of [a, b, c]) child.kill('SIGKILL')
    await Promise.all([a, b, c].map(async (child) => await once(child, 'exit')))
    rmSync(dir, { recursive: true, force: true })
  })
  await Promise.all([a, b, c].map(async (child) => await once(child, 'spawn')))
  const config = exporterConfig([{ name: 'x/one', pid: a.pid as number }, { name: 'x/two', pid: b.pid as number }], dir)
  const re = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  assert.equal(config, [
    'process_names:',
    "  - name: 'x/one'", '    cmdline:', `      - '(^| )${re(join(dir, 'a.conf'))}( |$)'`,
    "  - name: 'x/two'", '    cmdline:', `      - '(^| )${re(join(dir, 'a.conf.2'))}( |$)'`,
    ''
  ].join('\n'))
  // Its only argument under the dir is another's too: no group could tell them apart.
  assert.throws(() => exporterConfig([{ name: 'x/one', pid: a.pid as number }, { name: 'x/three', pid: c.pid as number }], dir), /x\/three .* no argument/)
})

test('/proc at a scrape instant: between the reads on either side of it, a process tree\'s CPU time', async () => {
  assert.deepEqual(processTree(process.pid).slice(0, 1), [process.pid])
  const sampler = new ProcSampler(new Map([['self', [process.pid]]]))
  try {
    const first = sampler.last
    assert.equal(sampler.at('self', first - 1), undefined, 'before the first read')
    const until = performance.now() + 300
    while (performance.now() < until) Math.sqrt(Math.random()) // burn CPU across a few reads
    await new Promise((resolve) => setTimeout(resolve, 250))
    const mid = (first + sampler.last) / 2
    const at = sampler.at('self', mid)
    assert.ok(at !== undefined)
    assert.ok(at.gap_s <= 0.5 && at.rssBytes > 0)
    const now = readGroup([process.pid])
    assert.ok(at.cpuSeconds > 0 && at.cpuSeconds <= now.cpuSeconds)
    assert.equal(sampler.at('self', now.at + 10), undefined, 'after the last read')
  } finally {
    sampler.stop()
  }
})

function run (promCpu: number, procCpuSeconds: number, missing = false): CostRun {
  const seconds = 4
  const rps = 750
  const window: CostWindow = {
    topology: 'sidecar',
    stands_in: { sidecar: 'sidecar (nginx)' },
    requests: rps * seconds,
    load_command: 'podmeter load http://TOPOLOGY/ --qps 1000',
    cost: {
      measured: true,
      prometheus: 'http://127.0.0.1:9090',
      window: { start: 100, end: 100 + seconds, step_s: 1 },
      requests_per_second: rps,
      components: missing
        ? {}
        : {
            sidecar: {
              cpu_cores: { mean: promCpu, min: 0, max: promCpu * 1.3, samples: [0, promCpu, promCpu] },
              memory_mb: { max: 9.1, mean: 9 },
              cpu_cores_per_1k_rps: promCpu / rps * 1000,
              memory_mb_per_1k_rps: 9.1 / rps * 1000,
              series: 1,
              queries: { cpu: 'cpu', memory: 'memory' }
            }
          },
      missing: missing ? ['sidecar: no CPU series for groupname="sidecar/sidecar"'] : []
    },
    proc: {
      sidecar: {
        pids: [1],
        cpu_seconds: procCpuSeconds,
        cpu_cores: procCpuSeconds / seconds,
        cpu_cores_per_1k_rps: procCpuSeconds / seconds / rps * 1000,
        memory_mb: { start: 9, end: 9.1 },
        read_gap_s: 0.05
      }
    }
  }
  return { exporter: { version: '0.7.10', url: 'http://127.0.0.1:1' }, settings: { qps: 1000, seconds: 3, connections: 8 }, windows: [window] }
}

test('the cost check: Prometheus within 10 % of /proc, on enough CPU, with every series there', () => {
  const ok = checkCost(run(0.0575, 0.23)).rows[0]
  assert.equal(ok?.cpu_ratio, 1)
  assert.deepEqual(ok?.failures, [])
  assert.deepEqual(checkCost(run(0.0575 * 1.09, 0.23)).rows[0]?.failures, [])
  assert.match(checkCost(run(0.0575 * 1.12, 0.23)).rows[0]?.failures.join() ?? '', /12\.0 % off \/proc's 0\.0575/)
  assert.match(checkCost(run(0.0575 * 0.88, 0.23)).rows[0]?.failures.join() ?? '', /-12\.0 % off/)
  assert.match(checkCost(run(0.02, 0.08)).rows[0]?.failures.join() ?? '', /too little to compare .* load more/)
  const missing = checkCost(run(0, 0.23, true)).rows[0]
  assert.equal(missing?.prometheus, null)
  assert.equal(missing?.cpu_ratio, null)
  assert.match(missing?.failures.join() ?? '', /no CPU series/)
  assert.match(costTable(checkCost(run(0.0575, 0.23))), /^\| sidecar \| sidecar \| sidecar \(nginx\) \| 750\.0 \| 0\.0575 \| 0\.0767 \| 9\.1 \| 12\.1 \| 0\.23 \| 0\.0575 \| 0\.0767 \| 9\.0 → 9\.1 \| 1\.000 \| ok \|$/m)
})
