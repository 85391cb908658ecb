// `podmeter compare`: two or more targets side by side, live or from result
// files, with the median of each figure across rounds, its spread, and a
// verdict from a rank-sum test on the per-round figures, with the interval
// of the difference (verdict.ts).
//
// Live, rounds interleave the targets in a balanced order (A B, B A, A B, …;
// with more targets each round rotates the order), recorded in the result,
// so that drift of the machine or the cluster hits every target alike.

import { writeFile } from 'node:fs/promises'
import { type CommandSpec, parseArgs, parsePercentiles, Reader, UsageError } from './args.js'
import { buildRows, COMPARISON_KIND, COMPARISON_VERSION, type Comparison, readComparison, type Row, tableOf, type Target } from './comparison.js'
import { fmtInt, fmtMs, fmtNum, markdownTable, textTable } from './format.js'
import { LOAD_OPTIONS, parseUrl, readLoadOptions, DEFAULT_PERCENTILES } from './load-options.js'
import { loadOnce } from './load.js'
import { htmlReport } from './report-html.js'
import { DEFAULT_ALPHA, minRounds } from './verdict.js'
import { allowedFields, checkFingerprints, FIELDS } from './fingerprint.js'

const OWN_OPTIONS = new Set(['label', 'stats-url'])

export const COMPARE_SPEC: CommandSpec = {
  command: 'compare',
  usage: '[options] FILE… | --target NAME=URL --target NAME=URL [--rounds N] [load options]',
  summary: 'Compares targets: live, running interleaved rounds of load against each, or from result files of `podmeter load -o` (NAME=FILE groups files into a target) or `podmeter compare -o`. The first target is the baseline.',
  options: [
    { name: 'target', short: 't', value: 'NAME=URL', repeat: true, help: 'a target to load (give two or more)' },
    { name: 'rounds', short: 'r', value: 'N', help: `rounds per target, in a balanced order A B, B A, … (default 5; a verdict at 5 % needs ${minRounds(DEFAULT_ALPHA)})` },
    { name: 'alpha', value: 'P', help: 'the false-positive rate of each verdict (default 0.05)' },
    { name: 'markdown', help: 'print the table as markdown' },
    { name: 'html', value: 'FILE', help: 'write a self-contained HTML report with charts' },
    { name: 'output', short: 'o', value: 'FILE', help: 'write every round\'s result as JSON (compare can read it back)' },
    { name: 'quiet', short: 'q', help: 'no progress on stderr' },
    { name: 'allow-mixed', help: 'compare results of different kinds of load (closed and open loop)' },
    { name: 'allow-different', value: 'FIELD', repeat: true, help: `compare results that differ in FIELD anyway: ${FIELDS.map((f) => f.name).join(', ')} (repeatable, or comma-separated)` },
    ...LOAD_OPTIONS.filter((o) => !OWN_OPTIONS.has(o.name)).map((o) =>
      o.name === 'duration'
        ? { ...o, help: 'each round sends measured requests for TIME (default 5s)' }
        : o.name === 'warmup' ? { ...o, help: 'each round starts with unmeasured load for TIME (default 1s)' } : o)
  ],
  notes: [
    `Results that differ in a field that changes the answer are refused (exit 2) unless the difference is declared with --allow-different: ${FIELDS.map((f) => f.title).join('; ')}. The fields that differ, or are known for one target and not another, are shown in a table on stderr. A value a result does not have (an older podmeter's result, an Istio version its target did not show) is unknown and never refused, with a note on stderr. --allow-mixed is --allow-different load_kind.`,
    'Each round of a live comparison is one load run (default -d 5s after --warmup 1s) with the load options given. After each run the target\'s /stats is read for its memory and mesh mode, and with --prometheus the cost of its window: each component\'s vCPU and MB per 1k req/s get a row and a verdict.',
    `Verdict: Mann–Whitney's rank-sum test on the per-round figures (exact up to 100 rounds in all), significant when p ≤ --alpha, with the Hodges–Lehmann interval of the difference; identical targets are called different in at most alpha of comparisons. At the 5 % level a verdict needs ${minRounds(DEFAULT_ALPHA)} rounds a side. Memory measured from one process a side is a per-process difference, not a difference between modes.`
  ]
}

export async function compareCommand (argv: string[]): Promise<number> {
  const parsed = parseArgs(argv, COMPARE_SPEC)
  const r = new Reader(parsed, COMPARE_SPEC)
  const live = r.has('target')
  const { allowed, unknown } = allowedFields(r.all('allow-different'))
  if (unknown.length > 0) throw new UsageError(`--allow-different: ${unknown.map((n) => JSON.stringify(n)).join(', ')} is not a field a comparison holds equal; the fields: ${FIELDS.map((f) => f.name).join(', ')}`)
  if (live && parsed.positionals.length > 0) throw new UsageError(`either --target (live) or result files, not both (got ${parsed.positionals.join(' ')})`)
  const percentiles = r.has('percentiles') ? parsePercentiles(r.string('percentiles') as string) : DEFAULT_PERCENTILES
  let comparison: Comparison
  if (live) {
    comparison = await runLive(r, !r.flag('quiet'))
  } else {
    if (r.has('rounds')) throw new UsageError('--rounds is for a live comparison with --target')
    const loadOnly = LOAD_OPTIONS.map((o) => o.name).filter((n) => n !== 'percentiles' && r.has(n))
    if (loadOnly.length > 0) throw new UsageError(`--${loadOnly[0] as string} is a load option: give it with --target`)
    if (parsed.positionals.length === 0) throw new UsageError('needs result files, or --target NAME=URL twice or more')
    try {
      comparison = await readComparison(parsed.positionals)
    } catch (err) {
      throw new UsageError((err as Error).message)
    }
  }
  if (comparison.targets.length < 2) {
    throw new UsageError(`needs two targets or more, got ${comparison.targets.map((t) => t.name).join(', ') || 'none'} (name files NAME=FILE, or give each run a --label)`)
  }
  if (r.flag('allow-mixed')) allowed.add('load_kind')
  if (!allowed.has('load_kind')) refuseMixed(comparison)
  const fingerprints = checkFingerprints(comparison, allowed)
  if (fingerprints.table !== null) process.stderr.write(`podmeter compare: ${fingerprints.table}\n`)
  for (const line of fingerprints.notes) process.stderr.write(`podmeter compare: ${line}\n`)
  if (fingerprints.refusals.length > 0) throw new UsageError(fingerprints.refusals.join('\n'))
  const alpha = r.number('alpha', 0.0001, 0.5) ?? DEFAULT_ALPHA
  const rows = buildRows(comparison, percentiles, alpha)
  process.stdout.write((r.flag('markdown') ? renderMarkdown(comparison, rows) : renderText(comparison, rows)) + '\n')
  const output = r.string('output')
  if (output !== undefined) {
    await writeFile(output, JSON.stringify(comparison) + '\n')
    process.stderr.write(`wrote ${output}\n`)
  }
  const html = r.string('html')
  if (html !== undefined) {
    await writeFile(html, htmlReport(comparison, rows, percentiles))
    process.stderr.write(`wrote ${html}\n`)
  }
  return 0
}

/**
 * Closed-loop latency is measured from each send; open-loop latency from
 * each due time, corrected for coordinated omission. Figures of the two are
 * not comparable: refuse, naming a round of each.
 */
function refuseMixed (c: Comparison): void {
  const where = new Map<string, string>()
  for (const t of c.targets) {
    t.rounds.forEach((round, i) => {
      const kind = round.mode === 'open' ? `open loop at ${round.requested_rate ?? '?'} req/s` : 'closed loop'
      if (!where.has(kind)) where.set(kind, `${t.name} round ${i + 1}`)
    })
  }
  const modes = [...where.keys()].map((k) => k.startsWith('open') ? 'open' : 'closed')
  if (new Set(modes).size > 1) {
    throw new UsageError(`the results are of different kinds: ${[...where].map(([kind, at]) => `${kind} (${at})`).join(' and ')}; open-loop latency counts from when each request was due (corrected), closed-loop from when it was sent: compare like with like, or pass --allow-mixed`)
  }
}

function readTargets (r: Reader): Array<{ name: string, url: URL }> {
  const targets = r.all('target').map((t) => {
    const m = /^([\w.:@+-]{1,64})=(.+)$/.exec(t)
    if (m === null) throw new UsageError(`-t/--target: ${JSON.stringify(t)} is not NAME=URL (like sidecar=http://10.0.0.5:8080/?delay=0)`)
    return { name: m[1] as string, url: parseUrl(m[2] as string) }
  })
  const names = new Set(targets.map((t) => t.name))
  if (names.size !== targets.length) throw new UsageError('-t/--target: two targets have the same name')
  if (targets.length < 2) throw new UsageError('-t/--target: give two targets or more')
  return targets
}

async function runLive (r: Reader, progress: boolean): Promise<Comparison> {
  const targets = readTargets(r)
  const rounds = r.int('rounds', 1, 1000) ?? 5
  const options = targets.map((t) => ({ ...readLoadOptions(r, t.url, { durationUs: 5_000_000, warmupUs: 1_000_000 }), label: t.name, statsUrl: r.flag('no-stats') ? null : new URL('/stats', t.url).href }))
  const out: Target[] = targets.map((t) => ({ name: t.name, url: t.url.href, rounds: [] }))
  const width = Math.max(...targets.map((t) => t.name.length))
  const order: string[][] = []
  for (let round = 1; round <= rounds; round++) {
    const sequence = balancedOrder(targets.length, round - 1)
    order.push(sequence.map((i) => (targets[i] as { name: string }).name))
    for (const i of sequence) {
      const name = (targets[i] as { name: string }).name
      const tag = `round ${round}/${rounds} ${name.padEnd(width)}`
      const result = await loadOnce(options[i] as ReturnType<typeof readLoadOptions>, { progress: progress && process.stderr.isTTY === true, label: tag })
      ;(out[i] as Target).rounds.push(result)
      const e2e = result.latency_ms.e2e
      if (progress) {
        process.stderr.write(`${tag}  ${fmtNum(result.rate, 1)} req/s  p50 ${fmtMs(e2e?.percentiles['50'])}  p99 ${fmtMs(e2e?.percentiles['99'])} ms  ${fmtInt(result.errors)} errors\n`)
      }
    }
  }
  return { kind: COMPARISON_KIND, version: COMPARISON_VERSION, created_at: new Date().toISOString(), targets: out, order }
}

/**
 * The order of round `r` (from 0): two targets alternate A B, B A, A B, …;
 * more targets rotate by one each round and reverse every other round, so
 * every target runs first, last and in between equally often.
 */
export function balancedOrder (targets: number, r: number): number[] {
  const rotated = Array.from({ length: targets }, (_, i) => (i + Math.floor(r / 2)) % targets)
  return r % 2 === 0 ? rotated : rotated.reverse()
}

export function renderText (c: Comparison, rows: Row[]): string {
  const { header, cells } = tableOf(c, rows)
  const title = `podmeter compare: ${c.targets.map((t) => `${t.name} (${t.rounds.length} round${t.rounds.length === 1 ? '' : 's'})`).join(' vs ')}; latency in ms`
  const left = new Set(header.map((h, i) => (String(h).startsWith('verdict') ? i : -1)))
  return [title, '', textTable(header, cells, '  ', left)].join('\n')
}

export function renderMarkdown (c: Comparison, rows: Row[]): string {
  const { header, cells } = tableOf(c, rows)
  const left = new Set(header.map((h, i) => (String(h).startsWith('verdict') ? i : -1)))
  const urls = c.targets.map((t) => `- **${t.name}**: ${t.url ?? 'from files'}, ${t.rounds.length} round${t.rounds.length === 1 ? '' : 's'}`)
  return [...urls, '', markdownTable(header, cells, left), '', 'Latency in ms. Verdict: Mann–Whitney rank-sum test on the per-round figures, with the Hodges–Lehmann interval of the difference.'].join('\n')
}
