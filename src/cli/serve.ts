// `podmeter serve [options]`: runs the measured server. Every setting is an
// environment variable and an equal flag (src/shared/config.ts), read with
// the same grammar as the other commands; the server itself is src/main.

import os from 'node:os'
import { SETTINGS, defaultText, resolveConfig, type ServerConfig } from '../shared/config.js'
import { serve } from '../main/serve.js'
import { type CommandSpec, parseArgs, UsageError } from './args.js'

export const SERVE_SPEC: CommandSpec = {
  command: 'serve',
  usage: '[options]',
  summary: 'Runs the measured server. Each option is also the environment variable shown as its value; a flag wins over the environment.',
  options: SETTINGS.flatMap((s) => s.flag === undefined
    ? []
    : [{ name: s.flag, value: s.env, help: `default ${defaultText(s)}` }]),
  notes: [
    `Environment only (never a flag, as flags show in ps): ${SETTINGS.filter((s) => s.flag === undefined).map((s) => s.env).join(', ')}.`,
    'On SIGTERM the server answers for SHUTDOWN_DELAY_MS more, then finishes in-flight requests; SIGINT (Ctrl-C) skips the delay. A second signal stops at once (exit 130 on SIGINT, 143 on SIGTERM).'
  ]
}

/** The server's settings from flags and the environment; UsageError for a flag it does not know, ConfigError for a bad value. */
export function loadConfig (argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const parsed = parseArgs(argv, SERVE_SPEC)
  if (parsed.positionals.length > 0) throw new UsageError(`serve takes no arguments, got ${parsed.positionals.join(' ')}`)
  const flags = new Map<string, string>()
  for (const [name, [value]] of parsed.values) if (value !== undefined) flags.set(name, value)
  return resolveConfig(flags, env)
}

/** Starts the server and keeps it running until a signal; returns null while it runs. */
export async function serveCommand (argv: string[]): Promise<number | null> {
  const config = loadConfig(argv)
  const running = await serve(config)
  let stopping = false
  const stop = (signal: 'SIGTERM' | 'SIGINT'): void => {
    // A second signal, of either kind, means now: whatever is in flight is cut.
    if (stopping) {
      process.stdout.write(`podmeter: ${signal} again, stopping now\n`)
      process.exit(128 + os.constants.signals[signal])
    }
    stopping = true
    // Kubernetes sends SIGTERM and may still route requests here for a few
    // seconds; Ctrl-C (SIGINT) means now.
    const delayMs = signal === 'SIGTERM' ? config.shutdownDelayMs : 0
    process.stdout.write(`podmeter: ${signal}, ${delayMs > 0 ? `answering for ${delayMs} ms more, then ` : ''}finishing in-flight requests\n`)
    running.shutdown(delayMs).then(() => process.exit(0), (err) => { console.error(err); process.exit(1) })
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  running.ready.catch((err: Error) => {
    process.stderr.write(`podmeter: the histogram worker could not start: ${err.message}\n`)
    process.exit(1)
  })
  // Only now: whoever waits for this line may signal at once, and a signal
  // before the handlers are in would kill the process outright.
  process.stdout.write(`podmeter listening on ${running.url} (delay ${config.delayUs / 1000} ms, window ${config.windowSeconds} s, ${httpThreadsText(running.httpThreads)})\n`)
  if (running.baseline !== null) process.stdout.write(`podmeter baseline listener on ${running.baseline.url} (its own counters: /stats "baseline")\n`)
  if (running.tcpEcho !== null) process.stdout.write(`podmeter TCP echo on ${running.tcpEcho.url} (its own counters: /stats "tcp_echo")\n`)
  return null
}

/** `1 HTTP thread` or `2 HTTP threads`, with what `auto` found. */
function httpThreadsText ({ threads, reason }: { threads: number, reason: string }): string {
  const n = `${threads} HTTP thread${threads === 1 ? '' : 's'}`
  return reason === 'HTTP_THREADS' ? n : `${n} (${reason})`
}
