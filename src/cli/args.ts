// The option parser shared by `podmeter load`, `compare` and `merge`:
// `--name value`, `--name=value`, `-c 10`, `-c10`, boolean flags, repeatable
// options, positionals, and `--` to end the options. A bad argument throws a
// UsageError (the command exits 2 with its message); -h/--help throws
// HelpRequested (exit 0, the help on stdout).

import { parseDurationUs } from '../shared/duration.js'

export interface OptionSpec {
  /** Long name, without the dashes. */
  name: string
  short?: string
  /** Placeholder of the value in the help (`N`, `URL`); absent for a boolean flag. */
  value?: string
  repeat?: boolean
  help: string
}

export interface CommandSpec {
  command: string
  /** One line of usage after `podmeter <command>`. */
  usage: string
  summary: string
  options: OptionSpec[]
  /** Paragraphs after the options. */
  notes?: string[]
}

export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export class HelpRequested extends Error {
  override readonly name = 'HelpRequested'
}

export interface Parsed {
  values: Map<string, string[]>
  flags: Set<string>
  positionals: string[]
}

export function parseArgs (argv: readonly string[], spec: CommandSpec): Parsed {
  const values = new Map<string, string[]>()
  const flags = new Set<string>()
  const positionals: string[] = []
  const byLong = new Map(spec.options.map((o) => [o.name, o]))
  const byShort = new Map(spec.options.filter((o) => o.short !== undefined).map((o) => [o.short as string, o]))
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--') { positionals.push(...argv.slice(i + 1)); break }
    if (arg === '-h' || arg === '--help') throw new HelpRequested(help(spec))
    let option: OptionSpec | undefined
    let inline: string | undefined
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=')
      option = byLong.get(eq < 0 ? arg.slice(2) : arg.slice(2, eq))
      if (eq >= 0) inline = arg.slice(eq + 1)
    } else if (arg.length > 1 && arg.startsWith('-') && !/^-\d/.test(arg)) {
      option = byShort.get(arg[1] as string)
      if (arg.length > 2) inline = arg.slice(2)
    } else {
      positionals.push(arg)
      continue
    }
    if (option === undefined) throw new UsageError(`unknown option ${arg.split('=')[0] as string}`)
    const shown = optionName(option)
    if (option.value === undefined) {
      if (inline !== undefined) throw new UsageError(`${shown} takes no value`)
      flags.add(option.name)
      continue
    }
    const value = inline ?? argv[++i]
    if (value === undefined) throw new UsageError(`${shown} needs a value (${option.value})`)
    const list = values.get(option.name)
    if (list !== undefined && option.repeat !== true) throw new UsageError(`${shown} given twice`)
    if (list === undefined) values.set(option.name, [value])
    else list.push(value)
  }
  return { values, flags, positionals }
}

export function optionName (o: OptionSpec): string {
  return o.short === undefined ? `--${o.name}` : `-${o.short}/--${o.name}`
}

export function help (spec: CommandSpec): string {
  const rows = spec.options.map((o) => {
    const left = `${o.short === undefined ? '    ' : `-${o.short}, `}--${o.name}${o.value === undefined ? '' : ' ' + o.value}`
    return `  ${left.padEnd(28)} ${o.help}`
  })
  return [
    `usage: podmeter ${spec.command} ${spec.usage}`,
    '',
    spec.summary,
    '',
    'options:',
    ...rows,
    '  -h, --help                   this help',
    ...(spec.notes ?? []).flatMap((n) => ['', n])
  ].join('\n')
}

/** Typed reading of parsed options; every refusal names the option and what it accepts. */
export class Reader {
  readonly #parsed: Parsed
  readonly #spec: CommandSpec

  constructor (parsed: Parsed, spec: CommandSpec) {
    this.#parsed = parsed
    this.#spec = spec
  }

  #option (name: string): OptionSpec {
    const o = this.#spec.options.find((s) => s.name === name)
    if (o === undefined) throw new Error(`no option ${name} in ${this.#spec.command}`)
    return o
  }

  has (name: string): boolean {
    return this.#parsed.values.has(name) || this.#parsed.flags.has(name)
  }

  flag (name: string): boolean {
    return this.#parsed.flags.has(name)
  }

  string (name: string): string | undefined {
    return this.#parsed.values.get(name)?.[0]
  }

  all (name: string): string[] {
    return this.#parsed.values.get(name) ?? []
  }

  #refuse (name: string, text: string, accepts: string): never {
    throw new UsageError(`${optionName(this.#option(name))}: ${JSON.stringify(text)} is not ${accepts}`)
  }

  int (name: string, min: number, max: number): number | undefined {
    const text = this.string(name)
    if (text === undefined) return undefined
    const n = /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN
    if (!(n >= min && n <= max)) this.#refuse(name, text, `a whole number from ${min} to ${max}`)
    return n
  }

  number (name: string, min: number, max: number): number | undefined {
    const text = this.string(name)
    if (text === undefined) return undefined
    const n = /^\d{1,15}(\.\d{1,9})?$/.test(text) ? Number(text) : Number.NaN
    if (!(n >= min && n <= max)) this.#refuse(name, text, `a number from ${min} to ${max}`)
    return n
  }

  /** A duration; a bare number is in `bareUnit`. Returns µs. */
  durationUs (name: string, bareUnit: 'us' | 'ms' | 's', minUs: number, maxUs: number): number | undefined {
    const text = this.string(name)
    if (text === undefined) return undefined
    const us = parseDurationUs(text, bareUnit)
    if (us === undefined || us < minUs || us > maxUs) {
      this.#refuse(name, text, `a duration from ${formatUs(minUs)} to ${formatUs(maxUs)} (like 500ms, 10s, 2m; a bare number is ${bareUnit === 'us' ? 'µs' : bareUnit})`)
    }
    return us
  }
}

function formatUs (us: number): string {
  if (us >= 60_000_000 && us % 60_000_000 === 0) return `${us / 60_000_000}m`
  if (us >= 1_000_000) return `${us / 1_000_000}s`
  if (us >= 1000) return `${us / 1000}ms`
  return `${us}us`
}

/** `50,90,99,99.9` → sorted unique percentiles, each in (0, 100]. */
export function parsePercentiles (text: string, option = '-p/--percentiles'): number[] {
  const parts = text.split(',')
  const out = new Set<number>()
  for (const part of parts) {
    const p = /^\d{1,3}(\.\d{1,6})?$/.test(part.trim()) ? Number(part.trim()) : Number.NaN
    if (!(p > 0 && p <= 100)) throw new UsageError(`${option}: ${JSON.stringify(part)} is not a percentile above 0 and at most 100 (like 50,90,99,99.9)`)
    out.add(p)
  }
  if (out.size > 20) throw new UsageError(`${option}: at most 20 percentiles`)
  return [...out].sort((a, b) => a - b)
}
