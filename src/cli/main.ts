#!/usr/bin/env node
// `podmeter [COMMAND] [options]`: the command line, the package's bin.
// `serve` is the default. A command's module is loaded only when it runs, so
// a server never loads undici and `load` never loads the server.
//
// Exit codes: 0 done, 1 failed (the message on stderr), 2 usage (a bad
// command, option or setting, with the usage).

import { readFileSync } from 'node:fs'
import { ConfigError } from '../shared/errors.js'
import { HelpRequested, UsageError } from './args.js'

/** What a command returns: its exit code, or null while it keeps running (serve). */
type Command = (argv: string[]) => Promise<number | null>

const COMMANDS = new Map<string, { summary: string, run: () => Promise<Command> }>([
  ['serve', { summary: 'run the measured server (the default)', run: async () => (await import('./serve.js')).serveCommand }],
  ['load', { summary: 'drive load at a URL: end to end, server time and overhead', run: async () => (await import('./load.js')).loadCommand }],
  ['compare', { summary: 'compare targets or result files, with a verdict against noise', run: async () => (await import('./compare.js')).compareCommand }],
  ['merge', { summary: 'add the HDR histograms of replicas or runs exactly', run: async () => (await import('./merge.js')).mergeCommand }],
  ['cost', { summary: 'project the mesh\'s CPU and memory for a fleet, sidecar vs ambient', run: async () => (await import('./cost-command.js')).costCommand }]
])

const USAGE = [
  'usage: podmeter [COMMAND] [options]',
  '',
  'commands:',
  ...[...COMMANDS].map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`),
  `  ${'help'.padEnd(9)} this list, or a command's options (podmeter help load)`,
  '',
  'podmeter COMMAND --help lists its options; podmeter --version prints the version.',
  'Without a command, options go to serve: podmeter --port 9090.'
].join('\n')

function version (): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

async function main (argv: string[]): Promise<number | null> {
  const [first, ...rest] = argv
  if (first === '-h' || first === '--help') return print(USAGE)
  if (first === '-V' || first === '--version') return print(version())
  if (first === 'help') {
    if (rest[0] === undefined) return print(USAGE)
    return await main([rest[0], '--help'])
  }
  const named = first !== undefined && !first.startsWith('-')
  const name = named ? first : 'serve'
  const command = COMMANDS.get(name)
  if (command === undefined) {
    process.stderr.write(`podmeter: unknown command ${JSON.stringify(name)}\n${USAGE}\n`)
    return 2
  }
  try {
    return await (await command.run())(named ? rest : argv)
  } catch (err) {
    if (err instanceof HelpRequested) return print(err.message)
    if (err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(`podmeter ${name}: ${err.message}\n(podmeter ${name} --help lists the options)\n`)
      return 2
    }
    throw err
  }
}

function print (text: string): number {
  process.stdout.write(text + '\n')
  return 0
}

// A closed pipe (`podmeter load --json | head -c 100`) ends the command
// quietly, with the exit code it had, instead of an EPIPE stack.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err
  process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0)
})

main(process.argv.slice(2)).then((code) => {
  if (code === null) return
  process.exitCode = code
  // A command is done: leave now rather than wait for idle sockets' timers.
  setImmediate(() => process.exit(code))
}, (err: Error) => {
  process.stderr.write(`podmeter: ${err.message}\n`)
  process.exitCode = 1
})
