// The one argument grammar of every `podmeter` command, on node:util's
// parseArgs: `--name value`, `--name=value`, `-c 10`, `-c10`, boolean flags,
// repeatable options, positionals, and `--` to end the options. This wrapper
// adds what parseArgs leaves to its caller: a help text from the same table,
// "given twice" for an option that is not repeatable, and typed reading with
// units (Reader). A bad argument throws a UsageError (the command exits 2
// with its message); -h/--help throws HelpRequested (exit 0, help on stdout).

import { parseArgs as parseTokens } from 'node:util'
import { formatDuration, parseDurationUs } from '../shared/duration.js'
import { parsePercentileList } from '../shared/percentiles.js'

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

type TokenOptions = NonNullable<Parameters<typeof parseTokens>[0]>['options']

export function parseArgs (argv: readonly string[], spec: CommandSpec): Parsed {
  const options: TokenOptions = { help: { type: 'boolean', short: 'h', multiple: true } }
  for (const o of spec.options) {
    options[o.name] = { type: o.value === undefined ? 'boolean' : 'string', multiple: true, ...(o.short === undefined ? {} : { short: o.short }) }
  }
  let tokens
  try {
    tokens = parseTokens({ args: joinNegativeValues(argv, spec), options, allowPositionals: true, strict: true, tokens: true }).tokens
  } catch (err) {
    throw new UsageError(tokenError(err as Error & { code?: string }, spec))
  }
  const values = new Map<string, string[]>()
  const flags = new Set<string>()
  const positionals: string[] = []
  for (const t of tokens) {
    if (t.kind === 'positional') { positionals.push(t.value); continue }
    if (t.kind !== 'option') continue
    if (t.name === 'help') throw new HelpRequested(help(spec))
    const option = spec.options.find((o) => o.name === t.name) as OptionSpec
    if (t.value === undefined) { flags.add(option.name); continue }
    const list = values.get(option.name)
    if (list !== undefined && option.repeat !== true) throw new UsageError(`${optionName(option)} given twice`)
    if (list === undefined) values.set(option.name, [t.value])
    else list.push(t.value)
  }
  return { values, flags, positionals }
}

/**
 * `--delay-ms -1` as `--delay-ms=-1`: parseArgs refuses a value that starts
 * with a dash as ambiguous, which is right for `--label --quiet` (a value
 * forgotten) but hides the real complaint about a negative number.
 */
function joinNegativeValues (argv: readonly string[], spec: CommandSpec): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const next = argv[i + 1]
    const option = spec.options.find((o) => o.value !== undefined && (arg === `--${o.name}` || arg === `-${o.short ?? ''}`))
    if (option !== undefined && next !== undefined && /^-\d/.test(next)) { out.push(`--${option.name}=${next}`); i++ } else out.push(arg)
    if (arg === '--') { out.push(...argv.slice(i + 1)); break }
  }
  return out
}

/** parseArgs' refusal in this grammar's words. */
function tokenError (err: Error & { code?: string }, spec: CommandSpec): string {
  if (err.code === undefined || !err.code.startsWith('ERR_PARSE_ARGS')) throw err
  const unknown = /^Unknown option '([^']*)'/.exec(err.message)
  if (unknown !== null) return `unknown option ${unknown[1] as string}`
  // The other refusals name a known option, as `-c, --connections <value>`.
  const long = /--([\w-]+)/.exec(err.message)?.[1]
  const option = spec.options.find((o) => o.name === long)
  const shown = option === undefined ? `--${long ?? '?'}` : optionName(option)
  if (/argument is ambiguous/.test(err.message)) return `${shown} needs a value (one that starts with - goes after =, as in ${shown.split('/').at(-1) as string}=-x)`
  if (/argument missing/.test(err.message)) return `${shown} needs a value${option?.value === undefined ? '' : ` (${option.value})`}`
  if (/does not take an argument/.test(err.message)) return `${shown} takes no value`
  return err.message
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
      this.#refuse(name, text, `a duration from ${formatDuration(minUs)} to ${formatDuration(maxUs)} (like 500ms, 10s, 2m; a bare number is ${bareUnit === 'us' ? 'µs' : bareUnit})`)
    }
    return us
  }
}

/** `50,90,99,99.9` → sorted unique percentiles, each in (0, 100]; the server's rule and limit. */
export function parsePercentiles (text: string, option = '-p/--percentiles'): number[] {
  const list = parsePercentileList(text)
  if (typeof list === 'string') throw new UsageError(`${option}: ${list}`)
  return list.sort((a, b) => a - b)
}
