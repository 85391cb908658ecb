// What a benchmark run reports: its size (BENCH_ROUNDS rounds of
// BENCH_SECONDS each, defaults 5 and 3) and its rows, printed to stderr as
// they come and kept for the markdown table and the JSON of bench/out/.

export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 3)

export interface Row { part: string, metric: string, value: string, target: string, met: boolean | null }
export const rows: Row[] = []
/** Every part's raw figures, by part name. */
export const raw: Record<string, unknown> = {}

export function row (part: string, metric: string, value: string, target = '', met: boolean | null = null): void {
  rows.push({ part, metric, value, target, met })
  process.stderr.write(`  ${metric}: ${value}${target === '' ? '' : `  (target ${target}: ${met === true ? 'met' : 'MISSED'})`}\n`)
}
