import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { type CommandSpec, HelpRequested, parseArgs, parsePercentiles, Reader, UsageError } from '../../src/cli/args.js'
import { ROOT, runCli } from '../support/helpers.js'

const SPEC: CommandSpec = {
  command: 'demo',
  usage: 'URL',
  summary: 'demo',
  options: [
    { name: 'connections', short: 'c', value: 'N', help: 'connections' },
    { name: 'header', short: 'H', value: 'H', repeat: true, help: 'header' },
    { name: 'duration', short: 'd', value: 'TIME', help: 'duration' },
    { name: 'quiet', short: 'q', help: 'quiet' }
  ]
}

test('long, short, inline and repeated options, flags and positionals', () => {
  const p = parseArgs(['-c', '5', '--duration=2s', '-Ha: 1', '--header', 'b: 2', '-q', 'http://x/', '--', '-not-an-option'], SPEC)
  const r = new Reader(p, SPEC)
  assert.equal(r.int('connections', 1, 10), 5)
  assert.equal(r.durationUs('duration', 's', 0, 1e9), 2_000_000)
  assert.deepEqual(r.all('header'), ['a: 1', 'b: 2'])
  assert.equal(r.flag('quiet'), true)
  assert.deepEqual(p.positionals, ['http://x/', '-not-an-option'])
  assert.equal(new Reader(parseArgs(['-d', '1.5'], SPEC), SPEC).durationUs('duration', 's', 0, 1e9), 1_500_000, 'a bare number is in the given unit')
})

test('bad arguments throw a UsageError naming the option and what it accepts', () => {
  const bad: Array<[string[], RegExp]> = [
    [['--nope'], /^unknown option --nope$/],
    [['-x'], /^unknown option -x$/],
    [['-c'], /^-c\/--connections needs a value/],
    [['-c', '1', '-c', '2'], /given twice/],
    [['--quiet=yes'], /takes no value/]
  ]
  for (const [argv, message] of bad) assert.throws(() => parseArgs(argv, SPEC), (err: Error) => err instanceof UsageError && message.test(err.message))
  const r = new Reader(parseArgs(['-c', '0', '-d', 'soon'], SPEC), SPEC)
  assert.throws(() => r.int('connections', 1, 10), /-c\/--connections: "0" is not a whole number from 1 to 10/)
  assert.throws(() => r.durationUs('duration', 's', 0, 1e9), /-d\/--duration: "soon" is not a duration/)
  const huge = new Reader(parseArgs(['-d', '999999999999999m'], SPEC), SPEC)
  assert.throws(() => huge.durationUs('duration', 's', 0, 1e9), /-d\/--duration: "999999999999999m" is not a duration from 0us to 1000s/)
  assert.throws(() => parseArgs(['--help'], SPEC), HelpRequested)
  assert.deepEqual(parsePercentiles('99.9,50,90,50'), [50, 90, 99.9])
  for (const bad of ['0', '101', 'p99', '', '50,,90']) assert.throws(() => parsePercentiles(bad), UsageError, bad)
})

test('the client commands refuse bad arguments with exit code 2 and a clear message', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['load'], /podmeter load: needs the URL to load/],
    [['load', 'not a url'], /is not a URL/],
    [['load', 'ftp://x/'], /only http: and https:/],
    [['load', '-c', 'many', 'http://127.0.0.1:1/'], /-c\/--connections: "many" is not a whole number/],
    [['load', '-n', '10', '-d', '1s', 'http://127.0.0.1:1/'], /exclude each other/],
    [['load', '--qps', '-5', 'http://127.0.0.1:1/'], /--qps: "-5" is not a number/],
    [['load', '-p', '50,200', 'http://127.0.0.1:1/'], /-p\/--percentiles: "200" is not a percentile/],
    [['load', '-H', 'no colon', 'http://127.0.0.1:1/'], /-H\/--header: "no colon" is not 'Name: value'/],
    [['load', '-H', 'Content-Length: 5', 'http://127.0.0.1:1/'], /-H\/--header: Content-Length is the client's to set/],
    [['load', '-H', 'transfer-encoding: chunked', '--qps', '10', 'http://127.0.0.1:1/'], /transfer-encoding is the client's to set/],
    [['load', '--bogus', 'http://127.0.0.1:1/'], /unknown option --bogus/],
    [['compare'], /needs result files, or --target/],
    [['compare', '-t', 'a=http://127.0.0.1:1/'], /give two targets or more/],
    [['compare', '-t', 'nonsense', '-t', 'b=http://127.0.0.1:1/'], /is not NAME=URL/],
    [['compare', '-t', 'a=http://127.0.0.1:1/', '-t', 'a=http://127.0.0.1:2/'], /same name/],
    [['compare', 'missing.json', 'other.json'], /missing\.json: no such file/],
    [['compare', '--rounds', '3', 'a.json', 'b.json'], /--rounds is for a live comparison/],
    [['merge'], /needs URLs of replicas or files/],
    [['merge', '--histogram', 'nope', 'x.json'], /--histogram: "nope" is not one of/]
  ]
  for (const [argv, message] of cases) {
    const r = await runCli(argv)
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, message, argv.join(' '))
    assert.match(r.stderr, /--help lists the options/)
  }
})

test('--help for each command prints its options and exits 0', async () => {
  for (const [command, option] of [['load', '--qps'], ['compare', '--rounds'], ['merge', '--histogram']]) {
    const r = await runCli([command as string, '--help'])
    assert.equal(r.code, 0)
    assert.match(r.stdout, new RegExp(`^usage: podmeter ${command as string}`))
    assert.ok(r.stdout.includes(option as string), `${command as string} --help lists ${option as string}`)
  }
  for (const argv of [['help'], ['--help'], ['-h']]) {
    const top = await runCli(argv)
    assert.equal(top.code, 0, argv.join(' '))
    for (const command of ['serve', 'load', 'compare', 'merge']) assert.match(top.stdout, new RegExp(`^  ${command} +\\S`, 'm'), `${argv.join(' ')} lists ${command}`)
  }
  const serve = await runCli(['help', 'serve'])
  assert.equal(serve.code, 0)
  assert.match(serve.stdout, /^usage: podmeter serve/)
})

test('--version and -V print the package version', async () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  for (const flag of ['--version', '-V']) {
    const r = await runCli([flag])
    assert.equal(r.code, 0)
    assert.equal(r.stdout, `${version}\n`)
  }
})

test('an unknown command exits 2 with the usage, whatever its name', async () => {
  for (const name of ['frobnicate', 'constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    const r = await runCli([name])
    assert.equal(r.code, 2, `${name}: ${r.stderr}`)
    assert.match(r.stderr, new RegExp(`unknown command "${name}"`))
    assert.match(r.stderr, /^usage: podmeter/m)
  }
})
