// `podmeter merge URL… | FILE…`: the exact latency of a fleet. Each source's
// HDR histogram (a replica's GET /stats/histogram, a saved copy of one, or a
// `podmeter load -o` result) is decoded and added; percentiles are then read
// from the sum. Percentiles of replicas are never averaged: the p99 of two
// replicas is not the mean of their p99s.

import { writeFile } from 'node:fs/promises'
import type { JsHistogram } from 'hdr-histogram-js'
import { type CommandSpec, parseArgs, parsePercentiles, Reader, UsageError } from './args.js'
import { decode, encode, sumOf, summarizeMs, type Exact, type MsSummary } from '../shared/hdr.js'
import { fmtInt, fmtMs, pName, textTable } from './format.js'
import { DEFAULT_PERCENTILES } from './load-options.js'
import { LATENCY_NAMES, RESULT_KIND, type LatencyName } from './result.js'
import { readJsonFile } from './json-file.js'
import { getText } from './get-text.js'

export const MERGE_SPEC: CommandSpec = {
  command: 'merge',
  usage: '[options] URL…|FILE…',
  summary: 'Adds the HDR histograms of PodMeter replicas (URL: its GET /stats/histogram; a bare http://host:port asks that path) or of files (a saved /stats/histogram answer, or a `podmeter load -o` result), and prints the exact percentiles and totals of the sum.',
  options: [
    { name: 'histogram', value: 'NAME', help: `which histogram of a load result: ${LATENCY_NAMES.join(', ')} (default e2e)` },
    { name: 'percentiles', short: 'p', value: 'LIST', help: 'percentiles to report (default 50,90,99,99.9)' },
    { name: 'timeout', value: 'TIME', help: 'per URL (default 5s)' },
    { name: 'output', short: 'o', value: 'FILE', help: 'write the merged histogram and figures as JSON' },
    { name: 'allow-mixed', help: "add a server's and a client's histograms, or different ones of load results, together" }
  ],
  notes: [
    'A source that cannot be read stops the merge (exit 1): a sum with a replica missing would look complete and not be.',
    "A server's own histograms (URLs, saved /stats/histogram answers) and a client's (load results) measure different things and are not added together (exit 2) unless --allow-mixed; a source given twice, or two with the same histogram, is warned about."
  ]
}

export const MERGE_KIND = 'podmeter-merge-result'

/**
 * `kind`: `server` for a PodMeter's own histogram (its service time), or the
 * name of a load result's histogram (`e2e`, `overhead`, …: a client's).
 * `exact`: sum, min and max in µs where the source gives them (a replica's
 * /stats/histogram does).
 */
export interface Source { source: string, kind: string, histogram: JsHistogram, exact?: Exact }

function exactOf (doc: { count?: unknown, min_us?: unknown, max_us?: unknown, mean_us?: unknown }): Exact | undefined {
  const { count, min_us: min, max_us: max, mean_us: mean } = doc
  if (typeof count !== 'number' || count === 0 || typeof min !== 'number' || typeof max !== 'number' || typeof mean !== 'number') return undefined
  return { sum: mean * count, min, max }
}

/** The histogram URL of a replica: its /stats/histogram unless the URL names a path. */
export function histogramUrl (url: URL): string {
  if (url.pathname !== '/' && url.pathname !== '') return url.href
  const h = new URL('/stats/histogram', url)
  h.search = url.search
  return h.href
}

async function fromUrl (url: URL, timeoutMs: number): Promise<Source> {
  const href = histogramUrl(url)
  let doc: { hdr?: unknown, count?: unknown }
  try {
    const res = await getText(href, timeoutMs)
    if (res.status !== 200) throw new Error(`answered ${res.status}: ${res.text.slice(0, 200)}`)
    doc = JSON.parse(res.text)
  } catch (err) {
    throw new Error(`${href}: ${(err as Error).message}`)
  }
  if (typeof doc?.hdr !== 'string') throw new Error(`${href}: no "hdr" field (is it a PodMeter with GET /stats/histogram?)`)
  return withExact({ source: href, kind: 'server', histogram: decode(doc.hdr, href) }, doc)
}

function withExact (s: Source, doc: { count?: unknown }): Source {
  const exact = doc.count === s.histogram.totalCount ? exactOf(doc) : undefined
  return exact === undefined ? s : { ...s, exact }
}

async function fromFile (file: string, name: LatencyName): Promise<Source> {
  const doc = await readJsonFile(file) as { kind?: unknown, hdr?: unknown, count?: unknown, histograms?: Record<string, unknown> } | null
  if (typeof doc?.hdr === 'string') return withExact({ source: file, kind: 'server', histogram: decode(doc.hdr, file) }, doc)
  if (doc?.kind === RESULT_KIND) {
    const text = doc.histograms?.[name]
    if (typeof text !== 'string') throw new Error(`${file}: this load result has no ${name} histogram`)
    return { source: `${file} (${name})`, kind: name, histogram: decode(text, file) }
  }
  throw new Error(`${file}: neither a /stats/histogram answer (with "hdr") nor a podmeter load result`)
}

export async function mergeCommand (argv: string[]): Promise<number> {
  const parsed = parseArgs(argv, MERGE_SPEC)
  const r = new Reader(parsed, MERGE_SPEC)
  if (parsed.positionals.length === 0) throw new UsageError('needs URLs of replicas or files to merge')
  const name = (r.string('histogram') ?? 'e2e') as LatencyName
  if (!LATENCY_NAMES.includes(name)) throw new UsageError(`--histogram: ${JSON.stringify(name)} is not one of ${LATENCY_NAMES.join(', ')}`)
  const percentiles = r.has('percentiles') ? parsePercentiles(r.string('percentiles') as string) : DEFAULT_PERCENTILES
  const timeoutMs = (r.durationUs('timeout', 's', 1000, 600_000_000) ?? 5_000_000) / 1000
  const sources: Array<Promise<Source>> = parsed.positionals.map(async (arg) => {
    if (/^https?:\/\//i.test(arg)) {
      let url: URL
      try { url = new URL(arg) } catch { throw new UsageError(`${JSON.stringify(arg)} is not a URL`) }
      return await fromUrl(url, timeoutMs)
    }
    if (/^[a-z][\w+.-]*:\/\//i.test(arg)) throw new UsageError(`${JSON.stringify(arg)}: only http: and https: URLs`)
    return await fromFile(arg, name)
  })
  let read: Source[]
  try {
    read = await Promise.all(sources)
  } catch (err) {
    if (err instanceof UsageError) throw err
    process.stderr.write(`podmeter merge: ${(err as Error).message}\n`)
    return 1
  }
  const kinds = [...new Set(read.map((s) => s.kind))]
  if (kinds.length > 1 && !r.flag('allow-mixed')) {
    const server = read.find((s) => s.kind === 'server')
    const client = read.find((s) => s.kind !== 'server')
    throw new UsageError(server !== undefined && client !== undefined
      ? `${server.source} is a server's own histogram (its service time) and ${client.source} a client's (${client.kind}): their sum would mix two measurements (--allow-mixed adds them anyway)`
      : `the sources hold different histograms (${kinds.join(', ')}): give one kind (--allow-mixed adds them anyway)`)
  }
  for (const warning of duplicates(read)) process.stderr.write(`podmeter merge: warning: ${warning}\n`)
  const merged = sumOf(read.map((s) => s.histogram))
  // Exact min, max and mean only when every source gave them; else HDR's, within 0.1 %.
  const exact = read.every((s) => s.exact !== undefined || s.histogram.totalCount === 0)
    ? read.reduce<Exact | undefined>((a, s) => s.exact === undefined ? a : a === undefined ? s.exact : { sum: a.sum + s.exact.sum, min: Math.min(a.min, s.exact.min), max: Math.max(a.max, s.exact.max) }, undefined)
    : undefined
  const summary = summarizeMs(merged, percentiles, exact)
  process.stdout.write(describeMerge(read.map((s) => ({ source: s.source, summary: summarizeMs(s.histogram, percentiles, s.exact) })), summary, percentiles) + '\n')
  const output = r.string('output')
  if (output !== undefined) {
    const doc = { kind: MERGE_KIND, version: 1, sources: read.map((s) => ({ source: s.source, count: s.histogram.totalCount })), latency_ms: summary, hdr: encode(merged) }
    await writeFile(output, JSON.stringify(doc, null, 2) + '\n')
    process.stdout.write(`  wrote ${output}\n`)
  }
  return 0
}

/** A source given twice, or two sources with the same non-empty histogram (one replica reached twice): its samples would count twice. */
function duplicates (sources: readonly Source[]): string[] {
  const out: string[] = []
  const seen = new Map<string, string>()
  for (const s of sources) {
    const key = `${s.kind} ${s.histogram.totalCount > 0 ? encode(s.histogram) : s.source}`
    const first = seen.get(key)
    if (first === undefined) { seen.set(key, s.source); continue }
    out.push(first === s.source
      ? `${s.source} is given twice: its samples are counted twice`
      : `${first} and ${s.source} hold the same histogram (${s.histogram.totalCount} samples): the same replica twice? Its samples are counted twice`)
  }
  return out
}

function describeMerge (sources: Array<{ source: string, summary: MsSummary }>, merged: MsSummary, percentiles: readonly number[]): string {
  const header = ['source', 'samples', ...percentiles.map(pName), 'min', 'max', 'mean']
  const line = (title: string, s: MsSummary): string[] => [title, fmtInt(s.count), ...percentiles.map((p) => fmtMs(s.percentiles[String(p)])), fmtMs(s.min), fmtMs(s.max), fmtMs(s.mean)]
  const rows = [...sources.map((s) => line(s.source, s.summary)), line(`merged (${sources.length})`, merged)]
  return [`podmeter merge: ${sources.length} histogram${sources.length === 1 ? '' : 's'}, ${fmtInt(merged.count)} samples; latency in ms, percentiles of the sum`, '', textTable(header, rows)].join('\n')
}
