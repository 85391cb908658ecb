// A real Prometheus serving a cAdvisor fixture (test/fixtures/cadvisor.ts):
// the OpenMetrics text is backfilled into TSDB blocks with promtool
// (Debian's, as Prometheus 2.42), then Prometheus serves those blocks and
// scrapes nothing, so every query the cost code sends is answered by the real
// engine from exactly the fixture's samples.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startPrometheus, type Prometheus } from '../../lab/prometheus.js'
import { runTool } from './helpers.js'

const PROMTOOL = process.env.PROMTOOL ?? 'promtool'

export async function backfilledPrometheus (openMetrics: string, port: number): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'podmeter-cadvisor-'))
  try {
    const file = join(dir, 'cadvisor.om')
    writeFileSync(file, openMetrics)
    const r = await runTool(PROMTOOL, ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', file, join(dir, 'data')]).catch((err: Error) => {
      throw new Error(`cannot run ${PROMTOOL} (Debian package prometheus): ${err.message}`)
    })
    if (r.code !== 0) throw new Error(`promtool could not backfill the fixture: ${r.stderr}`)
    const prom = await startPrometheus([], { storage: join(dir, 'data'), port })
    return { ...prom, stop: async () => { await prom.stop(); rmSync(dir, { recursive: true, force: true }) } }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
}
