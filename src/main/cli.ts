#!/usr/bin/env node
// `podmeter [serve|load|compare|merge] [options]`: the command line. `serve`
// is the default. The client commands are loaded only when asked for, so a
// server never loads undici.

import { loadConfig } from '../shared/config.js'
import { ConfigError } from '../shared/errors.js'
import { serve } from './serve.js'

const USAGE = `usage: podmeter [serve] [options]      run the measured server (the default)
       podmeter load [options] URL     drive load, measure end to end, server time and overhead
       podmeter compare …              compare targets or result files, with a verdict against noise
       podmeter merge URL…|FILE…       add the HDR histograms of replicas or runs exactly
(podmeter COMMAND --help lists a command's options)`

const CLIENT_COMMANDS: Record<string, () => Promise<(argv: string[]) => Promise<number>>> = {
  load: async () => (await import('../cli/load.js')).loadCommand,
  compare: async () => (await import('../cli/compare.js')).compareCommand,
  merge: async () => (await import('../cli/merge.js')).mergeCommand
}

async function client (command: string, args: string[]): Promise<number> {
  const { HelpRequested, UsageError } = await import('../cli/args.js')
  try {
    return await (await (CLIENT_COMMANDS[command] as () => Promise<(argv: string[]) => Promise<number>>)())(args)
  } catch (err) {
    if (err instanceof HelpRequested) { process.stdout.write(err.message + '\n'); return 0 }
    if (err instanceof UsageError) {
      process.stderr.write(`podmeter ${command}: ${err.message}\n(podmeter ${command} --help lists the options)\n`)
      return 2
    }
    throw err
  }
}

async function main (argv: string[]): Promise<number> {
  const [first] = argv
  const command = first === undefined || first.startsWith('-') ? 'serve' : first
  const args = command === first ? argv.slice(1) : argv
  if (command === 'help') { process.stdout.write(USAGE + '\n'); return 0 }
  if (command in CLIENT_COMMANDS) return await client(command, args)
  if (command !== 'serve') {
    process.stderr.write(`podmeter: unknown command ${JSON.stringify(command)}\n${USAGE}\n`)
    return 2
  }
  let config
  try {
    config = loadConfig(args)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    const help = err.setting === '--help'
    ;(help ? process.stdout : process.stderr).write(`${help ? err.message.slice('--help: '.length) : 'podmeter: ' + err.message}\n`)
    return help ? 0 : 2
  }
  const running = await serve(config)
  const stop = (signal: string): void => {
    // Kubernetes sends SIGTERM and may still route requests here for a few
    // seconds; Ctrl-C (SIGINT) means now.
    const delayMs = signal === 'SIGTERM' ? config.shutdownDelayMs : 0
    process.stdout.write(`podmeter: ${signal}, ${delayMs > 0 ? `answering for ${delayMs} ms more, then ` : ''}finishing in-flight requests\n`)
    running.shutdown(delayMs).then(() => process.exit(0), (err) => { console.error(err); process.exit(1) })
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  // Only now: whoever waits for this line may signal at once, and a signal
  // before the handlers are in would kill the process outright.
  process.stdout.write(`podmeter listening on ${running.url} (delay ${config.delayUs / 1000} ms, window ${config.windowSeconds} s)\n`)
  if (running.baseline !== null) process.stdout.write(`podmeter baseline listener on ${running.baseline.url} (its own counters: /stats "baseline")\n`)
  return -1
}

main(process.argv.slice(2)).then((code) => {
  if (code < 0) return
  process.exitCode = code
  // A client command is done: leave now rather than wait for idle sockets' timers.
  if (process.argv[2] !== undefined && process.argv[2] in CLIENT_COMMANDS) setImmediate(() => process.exit(code))
}, (err: Error) => {
  process.stderr.write(`podmeter: ${err.message}\n`)
  process.exitCode = 1
})
