// `podmeter load tcp://…` as a user runs it, against PodMeter's TCP echo:
// both sides count the same messages, bytes and connections, closed loop,
// open loop and on time; and against echoes that misbehave, each failure is
// counted by its kind, never a crash. No timing is asserted.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import type { Running } from '../../src/main/serve.js'
import type { TcpLoadResult } from '../../src/cli/tcp-result.js'
import { getJson, request, runCli, startServer, tempFiles, waitFor } from '../support/helpers.js'
import { startFaultyEcho, type Fault } from '../support/tcp.js'

const file = tempFiles('tcp-load')

async function loadJson (args: string[]): Promise<{ code: number | null, result: TcpLoadResult, stderr: string, stdout: string }> {
  const r = await runCli(['load', ...args, '--json', '--quiet'])
  assert.ok(r.stdout.trim().length > 0, `a result on stdout (exit ${String(r.code)}): ${r.stderr}`)
  return { code: r.code, result: JSON.parse(r.stdout) as TcpLoadResult, stderr: r.stderr, stdout: r.stdout }
}

describe('podmeter load tcp:// against PodMeter\'s TCP echo', () => {
  let pm: Running
  let target: string
  const echoStats = async (): Promise<Record<string, any>> => (await getJson(`${pm.url}/stats`)).tcp_echo
  before(async () => {
    pm = await startServer({ delayUs: 0, tcpEchoPort: 0 })
    target = `tcp://127.0.0.1:${String(pm.tcpEcho?.port)}`
  })
  after(async () => { await pm.shutdown() })

  test('closed loop, -n: the client and the pod count the same messages, bytes and connections', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const before = await echoStats()
    const { code, result } = await loadJson([target, '-n', '3000', '-c', '5', '--payload', '100', '--warmup', '0', '--stats-url', `${pm.url}/stats`, '-o', file('closed.json')])
    assert.equal(code, 0)
    assert.deepEqual([result.sent, result.responses, result.errors, result.cancelled], [3000, 3000, 0, 0])
    assert.equal(result.method, 'TCP')
    assert.equal(result.url, target)
    assert.equal(result.mode, 'closed')
    assert.deepEqual([result.connections, result.pipelining, result.connections_opened], [5, 1, 5])
    assert.equal(result.latency_ms.e2e?.count, 3000)
    assert.equal(result.latency_ms.server, undefined, 'no server time: a TCP echo has no header to carry it')
    assert.deepEqual(result.status_codes, {})
    assert.deepEqual([result.tcp.payload_bytes, result.tcp.bytes_sent, result.tcp.bytes_received, result.bytes_received], [100, 300_000, 300_000, 300_000])
    assert.equal(result.tcp.connect_ms.count, 5, 'one connect time per connection')
    assert.ok(Object.values(result.tcp.error_kinds).every((n) => n === 0), JSON.stringify(result.tcp.error_kinds))
    // The pod's figures, read by the client after its run: the same messages.
    assert.equal(result.tcp.pod?.messages, 3000)
    assert.equal(result.tcp.pod?.bytes_in, 300_000)

    await waitFor('the pod to see every connection closed', async () => (await echoStats()).connections_open === 0)
    const s = await echoStats()
    assert.deepEqual([s.messages, s.samples, s.bytes_in, s.bytes_out], [3000, 3000, 300_000, 300_000])
    assert.equal(s.connections_opened - before.connections_opened, 5)
    assert.equal(s.connections_closed - before.connections_closed, 5)
    assert.equal(s.connections_failed, 0)
    const saved = JSON.parse(readFileSync(file('closed.json'), 'utf8')) as TcpLoadResult
    assert.equal(saved.kind, 'podmeter-load-result')
    assert.equal(saved.responses, 3000)
    assert.equal(typeof saved.histograms.e2e, 'string')
    assert.equal(typeof saved.tcp.connect_histogram, 'string')
  })

  test('open loop, --rate: the same counts, latency from the due time and the client lag beside it', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const { code, result } = await loadJson([target, '--rate', '400', '-n', '200', '-c', '4', '--payload', '1500', '--warmup', '0'])
    assert.equal(code, 0)
    assert.equal(result.mode, 'open')
    assert.equal(result.requested_rate, 400)
    assert.deepEqual([result.sent, result.responses, result.errors], [200, 200, 0])
    assert.equal(result.schedule?.sent, 200)
    for (const name of ['e2e', 'e2e_uncorrected', 'client_lag'] as const) assert.equal(result.latency_ms[name]?.count, 200, name)
    assert.equal(result.tcp.pod, null, 'no --stats-url: the pod is not asked')
    const s = await echoStats()
    assert.deepEqual([s.messages, s.bytes_in, s.bytes_out], [200, 300_000, 300_000])
  })

  test('a payload larger than one read: the echo comes back in many chunks, checked byte for byte; the pod counts the reads', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const { code, result } = await loadJson([target, '-n', '20', '-c', '2', '--payload', '1000000', '--warmup', '0'])
    assert.equal(code, 0)
    assert.deepEqual([result.responses, result.errors, result.tcp.bytes_received], [20, 0, 20_000_000])
    const s = await echoStats()
    assert.deepEqual([s.bytes_in, s.bytes_out], [20_000_000, 20_000_000])
    assert.ok(s.messages > 20, `a message of the pod is one read: ${s.messages} reads for 20 messages of 1 MB`)
  })

  test('-d ends the run on time; every message sent is echoed and counted by both; a warm-up counts on the pod only', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const { code, result } = await loadJson([target, '-d', '1s', '-c', '3', '--payload', '64', '--warmup', '200ms'])
    assert.equal(code, 0)
    assert.ok(result.responses > 0)
    assert.equal(result.sent, result.responses + result.errors)
    assert.equal(result.errors, 0)
    const s = await echoStats()
    assert.ok(result.tcp.warmup_messages.echoed > 0)
    assert.equal(s.messages, result.responses + result.tcp.warmup_messages.echoed, 'the pod counts the warm-up too; the result says how many')
    assert.equal(s.bytes_out, s.messages * 64)
  })

  test('the summary for people names messages, bytes, connect times and the pod\'s own echo time', async () => {
    const r = await runCli(['load', target, '-n', '300', '-c', '2', '--warmup', '0', '--quiet', '--stats-url', `${pm.url}/stats`])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, new RegExp(`^podmeter load ${target}$`, 'm'))
    assert.match(r.stdout, /closed loop, 2 connections, 1,024-byte messages/)
    assert.match(r.stdout, /messages {4}300 sent, 300 echoed, 0 failed/)
    assert.match(r.stdout, /bytes {7}307,200 sent, 307,200 echoed/)
    assert.match(r.stdout, /^ {2}round trip +\d/m)
    assert.match(r.stdout, /^ {2}connect +\d/m)
    assert.match(r.stdout, /^ {2}pod echo time +\d/m)
  })
})

describe('podmeter load tcp:// against echoes that misbehave: each failure counted by its kind', () => {
  const cases: Array<[Fault, string]> = [['closed', 'closed'], ['short', 'short'], ['reset', 'reset'], ['mismatch', 'mismatch']]
  for (const [fault, kind] of cases) {
    test(`${fault}: 20 messages, 20 failed as ${kind}, exit 1 with the reason`, async () => {
      const echo = await startFaultyEcho(fault)
      try {
        const { code, result, stderr } = await loadJson([`tcp://127.0.0.1:${echo.port}`, '-n', '20', '-c', '2', '--payload', '100', '--warmup', '0'])
        assert.equal(code, 1)
        assert.match(stderr, /no message came back \(20 failed/)
        assert.deepEqual([result.sent, result.responses, result.errors], [20, 0, 20])
        assert.equal(result.tcp.error_kinds[kind as keyof TcpLoadResult['tcp']['error_kinds']], 20, JSON.stringify(result.tcp.error_kinds))
        assert.equal(Object.values(result.tcp.error_kinds).reduce((a, b) => a + b, 0), 20, 'every failure has one kind')
        assert.ok(result.tcp.error_examples[kind as keyof TcpLoadResult['tcp']['error_examples']] !== undefined)
        assert.equal(result.bytes_received, 0)
      } finally {
        await echo.close()
      }
    })
  }

  test('silent: each message times out after --timeout', async () => {
    const echo = await startFaultyEcho('silent')
    try {
      const { code, result } = await loadJson([`tcp://127.0.0.1:${echo.port}`, '-n', '2', '-c', '2', '--timeout', '300ms', '--warmup', '0'])
      assert.equal(code, 1)
      assert.equal(result.tcp.error_kinds.timeout, 2)
      assert.equal(result.errors, 2)
    } finally {
      await echo.close()
    }
  })

  test('refused: nothing listens; counted, exit 1', async () => {
    const echo = await startFaultyEcho('silent')
    const port = echo.port
    await echo.close()
    const { code, result } = await loadJson([`tcp://127.0.0.1:${port}`, '-n', '10', '-c', '1', '--warmup', '0'])
    assert.equal(code, 1)
    assert.equal(result.tcp.error_kinds.refused, 10)
    assert.equal(result.connections_opened, 0)
    assert.equal(result.tcp.connect_ms.count, 0)
  })
})

test('usage: tcp:// options with HTTP and HTTP options with tcp:// are refused with a reason, exit 2', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['http://127.0.0.1:1/', '--payload', '10'], /--payload is for a tcp:\/\/ target/],
    [['http://127.0.0.1:1/', '--rate', '10'], /--rate is for a tcp:\/\/ target/],
    [['tcp://127.0.0.1:1', '--qps', '10'], /--qps is for HTTP targets: give --rate/],
    [['tcp://127.0.0.1:1', '-m', 'POST'], /--method is for HTTP targets/],
    [['tcp://127.0.0.1:1', '-P', '4'], /--pipelining is for HTTP targets/],
    [['tcp://127.0.0.1:1', '-b', 'x'], /--body is for HTTP targets: give --payload/],
    [['tcp://127.0.0.1:1', '--payload', '0'], /--payload: "0" is not a size from 1 byte to 16MiB/],
    [['tcp://127.0.0.1:1', '--payload', '17MiB'], /--payload: "17MiB" is not a size from 1 byte to 16MiB/],
    [['tcp://127.0.0.1:1', '--body-size', '1k'], /--body-size is for HTTP targets: give --payload/],
    [['tcp://127.0.0.1'], /tcp:\/\/host:port, with its port/],
    [['tcp://127.0.0.1:1/path'], /takes no path, query, fragment or user/],
    [['tcp://127.0.0.1:1?x=1'], /takes no path, query, fragment or user/]
  ]
  for (const [args, message] of cases) {
    const r = await runCli(['load', ...args])
    assert.equal(r.code, 2, args.join(' '))
    assert.match(r.stderr, message, args.join(' '))
  }
  const help = await runCli(['load', '--help'])
  assert.match(help.stdout, /--payload N +tcp:\/\/ only: bytes per message \(1024, 1k, 64KiB\)/)
  assert.match(help.stdout, /--rate R +tcp:\/\/ only: open loop/)
})
