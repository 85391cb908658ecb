// Debian's prometheus-process-exporter (ncabatoff/process-exporter 0.7)
// measuring the lab's stand-ins, each its own group: the config it is given
// names one group per process, matched by an argument of its command line
// that no other stand-in has (its config's directory, or its PodMeter's pod
// directory), so the lab's nginx and HAProxy processes never fall into one
// another's group, nor into a group of some other nginx on the machine.

import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { findBinary, freePort, type Managed, type Processes } from './processes.js'

/** A group of the exporter: its name (the `groupname` label) and its one process. */
export interface Group { name: string, pid: number }

/** The arguments of a process, from /proc/<pid>/cmdline (NUL-separated). */
function argv (pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '')
}

/** A Go (RE2) regex matching `text` literally. */
const literal = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * The exporter's config: per group, a cmdline regex matching one whole
 * argument (the exporter joins argv with spaces) that only that process has,
 * a path under `within` (the lab's work dir).
 */
export function exporterConfig (groups: readonly Group[], within: string): string {
  const args = new Map(groups.map((g) => [g.name, argv(g.pid)]))
  const lines = ['process_names:']
  for (const g of groups) {
    const others = new Set(groups.filter((o) => o.name !== g.name).flatMap((o) => args.get(o.name) ?? []))
    const unique = (args.get(g.name) ?? []).find((a) => a.startsWith(within + '/') && !others.has(a) && !a.includes("'"))
    if (unique === undefined) throw new Error(`${g.name} (pid ${g.pid}): no argument of its command line tells it from the other stand-ins`)
    lines.push(`  - name: '${g.name}'`, '    cmdline:', `      - '(^| )${literal(unique)}( |$)'`)
  }
  return lines.join('\n') + '\n'
}

export interface RunningExporter { url: string, version: string, process: Managed }

/** Writes the config into `dir` and starts the exporter on 127.0.0.1 (a port taken before it bound is tried again). */
export async function startExporter (procs: Processes, groups: readonly Group[], dir: string): Promise<RunningExporter> {
  const bin = findBinary('prometheus-process-exporter')
  const config = join(dir, 'process-exporter.yml')
  await writeFile(config, exporterConfig(groups, dir))
  const version = /revision: ([^)\s]+)/.exec((await versionText(procs, bin)))?.[1] ?? '?'
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    // No per-thread series, no smaps (proportional set size): neither is asked for, and both cost a read per thread or mapping at every scrape.
    const m = procs.spawn('prometheus-process-exporter', bin, [
      '-config.path', config, '-web.listen-address', `127.0.0.1:${port}`, '-threads=false', '-gather-smaps=false', '-children=true'
    ])
    try {
      await procs.waitListening(m, port)
      return { url: `http://127.0.0.1:${port}`, version, process: m }
    } catch (err) {
      m.child.kill('SIGKILL')
      if (attempt === 3) throw err
    }
  }
}

async function versionText (procs: Processes, bin: string): Promise<string> {
  const m = procs.spawn('prometheus-process-exporter -version', bin, ['-version'])
  await m.exited
  return m.output()
}
