#!/usr/bin/env node
// `podmeter [serve] [options]`: the command line. `serve` is the default.

import { loadConfig } from '../shared/config.js'
import { ConfigError } from '../shared/errors.js'
import { serve } from './serve.js'

async function main (argv: string[]): Promise<number> {
  const [first] = argv
  const command = first === undefined || first.startsWith('-') ? 'serve' : first
  const args = command === first ? argv.slice(1) : argv
  if (command !== 'serve') {
    process.stderr.write(`podmeter: unknown command ${JSON.stringify(command)}\nusage: podmeter [serve] [options]   (podmeter serve --help lists the options)\n`)
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
  process.stdout.write(`podmeter listening on ${running.url} (delay ${config.delayUs / 1000} ms, window ${config.windowSeconds} s)\n`)
  const stop = (signal: string): void => {
    // Kubernetes sends SIGTERM and may still route requests here for a few
    // seconds; Ctrl-C (SIGINT) means now.
    const delayMs = signal === 'SIGTERM' ? config.shutdownDelayMs : 0
    process.stdout.write(`podmeter: ${signal}, ${delayMs > 0 ? `answering for ${delayMs} ms more, then ` : ''}finishing in-flight requests\n`)
    running.shutdown(delayMs).then(() => process.exit(0), (err) => { console.error(err); process.exit(1) })
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  return -1
}

main(process.argv.slice(2)).then((code) => { if (code >= 0) process.exitCode = code }, (err: Error) => {
  process.stderr.write(`podmeter: ${err.message}\n`)
  process.exitCode = 1
})
