// The TCP echo listener (TCP_ECHO_PORT) over real sockets: byte-exact
// echoes, exact counters in /stats and /metrics, its own histograms, and
// what hostile peers get: a connection flood over the cap, a half-close, a
// reset, a peer that never reads, an idle one; and the graceful shutdown.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { getDefaultHighWaterMark } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import type { Running } from '../../src/main/serve.js'
import { getJson, request, runCli, sleep, startCli, startServer, waitFor } from '../support/helpers.js'
import { closed, echo, readExactly, tcpConnect } from '../support/tcp.js'

async function echoStats (pm: Running): Promise<Record<string, any>> {
  return (await getJson(`${pm.url}/stats`)).tcp_echo
}

describe('the TCP echo', () => {
  let pm: Running
  let port: number
  before(async () => {
    pm = await startServer({ delayUs: 0, tcpEchoPort: 0, tcpEchoMaxConnections: 8 })
    assert.ok(pm.tcpEcho !== null)
    port = pm.tcpEcho.port
    assert.match(pm.tcpEcho.url, /^tcp:\/\/127\.0\.0\.1:\d+$/)
  })
  after(async () => { await pm.shutdown() })

  test('echoes every byte exactly, whatever the sizes and over several connections at once', async () => {
    const sizes = [1, 2, 100, 1460, 65_536, 65_537, 1_000_000]
    await Promise.all([0, 1, 2].map(async () => {
      const socket = await tcpConnect(port)
      for (const size of sizes) {
        const message = randomBytes(size)
        const back = await echo(socket, message)
        assert.equal(back.length, size)
        assert.ok(back.equals(message), `${size} bytes came back as they went`)
      }
      socket.destroy()
    }))
  })

  test('counts messages, bytes and connections exactly, each with a sample; /metrics says the same', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const before = await echoStats(pm)
    assert.equal(before.messages, 0)
    assert.equal(before.samples, 0)
    const connections = 4
    const perConnection = 250
    const payload = 64
    await Promise.all(Array.from({ length: connections }, async () => {
      const socket = await tcpConnect(port)
      for (let i = 0; i < perConnection; i++) await echo(socket, Buffer.alloc(payload, i))
      const ends = closed(socket)
      socket.end()
      assert.deepEqual(await ends, { ended: true, error: undefined }, 'a half-close is answered with a FIN')
    }))
    await waitFor('every connection counted closed', async () => (await echoStats(pm)).connections_open === 0)
    const s = await echoStats(pm)
    const messages = connections * perConnection
    assert.equal(s.messages, messages)
    assert.equal(s.samples, messages, 'one sample per message, in its own histogram')
    assert.equal(s.window.samples, messages)
    assert.equal(s.samples_dropped, 0)
    assert.equal(s.bytes_in, messages * payload)
    assert.equal(s.bytes_out, messages * payload)
    assert.equal(s.connections_opened - before.connections_opened, connections)
    assert.equal(s.connections_closed - before.connections_closed, connections)
    assert.equal(s.connections_opened, s.connections_closed)
    assert.deepEqual([s.connections_rejected, s.connections_failed, s.connections_idle_closed, s.backpressure_pauses], [0, 0, 0, 0])
    assert.equal(s.port, port)
    assert.ok(s.min_latency_ms > 0 && s.min_latency_ms <= s.p50_latency_ms && s.p50_latency_ms <= s.p99_latency_ms && s.p99_latency_ms <= s.max_latency_ms)
    assert.ok(s.avg_messages_per_second > 0 && s.messages_per_second > 0)

    const main = await getJson(`${pm.url}/stats`)
    assert.equal(main.requests, 0, 'the HTTP listener counted none of it')
    assert.equal(main.samples, 0)

    const text = (await request(`${pm.url}/metrics`)).body
    const value = (series: string): number => Number(new RegExp(`^${series.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1])
    assert.equal(value('podmeter_tcp_echo_messages_total'), messages)
    assert.equal(value('podmeter_tcp_echo_duration_seconds_count'), messages)
    assert.equal(value('podmeter_tcp_echo_duration_seconds_bucket{le="+Inf"}'), messages)
    assert.equal(value('podmeter_tcp_echo_bytes_total{direction="in"}'), messages * payload)
    assert.equal(value('podmeter_tcp_echo_bytes_total{direction="out"}'), messages * payload)
    assert.equal(value('podmeter_tcp_echo_connections_open'), 0)
    assert.equal(value('podmeter_tcp_echo_connections_opened_total'), s.connections_opened)
    assert.equal(value('podmeter_request_duration_seconds_count'), 0, 'the HTTP histogram has none of it')
  })

  test('a flood over TCP_ECHO_MAX_CONNECTIONS: the extra connections are closed and counted, the others still echo', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const kept = await Promise.all(Array.from({ length: 8 }, async () => await tcpConnect(port)))
    for (const s of kept) assert.equal((await echo(s, Buffer.from('kept'))).toString(), 'kept')
    const extra = await Promise.all(Array.from({ length: 30 }, async () => {
      // Closed as soon as accepted: the client may hear of it before its own connect completes.
      const socket = net.connect({ port, host: '127.0.0.1' })
      let echoed = 0
      socket.on('data', (c: Buffer) => { echoed += c.length })
      const end = closed(socket)
      socket.write('never echoed')
      await end
      return echoed
    }))
    assert.deepEqual(extra, Array.from({ length: 30 }, () => 0), 'nothing came back on any of them')
    await waitFor('30 rejected', async () => (await echoStats(pm)).connections_rejected === 30)
    for (const s of kept) assert.equal((await echo(s, Buffer.from('still'))).toString(), 'still')
    const s = await echoStats(pm)
    assert.equal(s.connections_open, 8)
    assert.equal(s.messages, 16, 'only the kept connections were echoed')
    for (const socket of kept) socket.destroy()
    await waitFor('all closed', async () => (await echoStats(pm)).connections_open === 0)
  })

  test('a half-close: every byte sent before the FIN comes back, then the FIN', async () => {
    const socket = await tcpConnect(port)
    const message = randomBytes(3_000_000)
    const reply = readExactly(socket, message.length)
    const end = closed(socket)
    socket.end(message)
    assert.ok((await reply).equals(message))
    assert.deepEqual(await end, { ended: true, error: undefined })
  })

  test('a reset in the middle of a stream: counted as a failed connection, the counters stay exact', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const socket = await tcpConnect(port)
    await echo(socket, Buffer.alloc(10, 1))
    const before = await echoStats(pm)
    socket.resetAndDestroy()
    await waitFor('the reset counted', async () => (await echoStats(pm)).connections_failed === 1)
    const s = await echoStats(pm)
    assert.equal(s.messages, 1)
    assert.equal(s.bytes_in, 10)
    assert.equal(s.bytes_out, 10)
    assert.equal(s.connections_closed - before.connections_closed, 1)
  })

  test('a peer that sends and never reads: reading pauses, the write queue stays within its bound, and every byte comes back once it reads', async () => {
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const pattern = randomBytes(1 << 20)
    const total = 256 * pattern.length
    const socket = await tcpConnect(port)
    socket.pause()
    // The same buffer, queued again and again: the client holds one MiB, the kernel's buffers the rest.
    for (let i = 0; i < total / pattern.length; i++) socket.write(pattern)
    let last = -1
    await waitFor('the server to stop reading', async () => {
      const s = await echoStats(pm)
      const still = s.bytes_in === last && s.backpressure_pauses > 0
      last = s.bytes_in
      await sleep(100)
      return still
    }, 30_000)
    const stuck = await echoStats(pm)
    assert.ok(stuck.bytes_in < total, `it stopped reading at ${stuck.bytes_in} of ${total} bytes`)
    // Read but not yet handed to the kernel: at most the write queue's high-water mark (16 KiB on Node 20, 64 KiB from 22) and one read.
    const bound = getDefaultHighWaterMark(false) + 64 * 1024
    assert.ok(stuck.bytes_in - stuck.bytes_out <= bound, `${stuck.bytes_in - stuck.bytes_out} bytes queued, more than ${bound}`)
    let got = 0
    let same = true
    const done = new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        for (let off = 0; off < chunk.length;) {
          const at = (got + off) % pattern.length
          const n = Math.min(chunk.length - off, pattern.length - at)
          if (!chunk.subarray(off, off + n).equals(pattern.subarray(at, at + n))) same = false
          off += n
        }
        got += chunk.length
        if (got >= total) resolve()
      })
    })
    socket.resume()
    await done
    assert.equal(got, total)
    assert.ok(same, 'every byte came back in order')
    const s = await echoStats(pm)
    assert.equal(s.bytes_in, total)
    assert.equal(s.bytes_out, total)
    assert.equal(s.samples, s.messages)
    socket.destroy()
  })
})

test('TCP_ECHO_IDLE_TIMEOUT_MS: a silent connection is ended with a FIN and counted', async () => {
  const pm = await startServer({ delayUs: 0, tcpEchoPort: 0, tcpEchoIdleTimeoutMs: 200 })
  try {
    const socket = await tcpConnect(pm.tcpEcho?.port as number)
    assert.equal((await echo(socket, Buffer.from('hi'))).toString(), 'hi')
    assert.deepEqual(await closed(socket), { ended: true, error: undefined })
    const s = await echoStats(pm)
    assert.equal(s.connections_idle_closed, 1)
    assert.equal(s.connections_open, 0)
  } finally {
    await pm.shutdown()
  }
})

test('shutdown ends each echo connection with a FIN after its echoes, and stops accepting', async () => {
  const pm = await startServer({ delayUs: 0, tcpEchoPort: 0 })
  const port = pm.tcpEcho?.port as number
  const sockets = await Promise.all([0, 1, 2].map(async () => await tcpConnect(port)))
  for (const s of sockets) await echo(s, Buffer.from('before'))
  const ends = sockets.map(async (s) => await closed(s))
  await pm.shutdown()
  assert.deepEqual(await Promise.all(ends), sockets.map(() => ({ ended: true, error: undefined })))
  await assert.rejects(tcpConnect(port), { code: 'ECONNREFUSED' })
})

test('without TCP_ECHO_PORT there is no echo: /stats says tcp_echo: null, /metrics has no echo series', async () => {
  const pm = await startServer({ delayUs: 0 })
  try {
    assert.equal(pm.tcpEcho, null)
    assert.equal((await getJson(`${pm.url}/stats`)).tcp_echo, null)
    assert.doesNotMatch((await request(`${pm.url}/metrics`)).body, /podmeter_tcp_echo/)
  } finally {
    await pm.shutdown()
  }
})

test('TCP_ECHO_PORT and its limits: off, a port, refused values, the help', async () => {
  const { loadConfig } = await import('../../src/cli/serve.js')
  assert.equal(loadConfig([], {}).tcpEchoPort, null)
  assert.equal(loadConfig([], { TCP_ECHO_PORT: 'off' }).tcpEchoPort, null)
  assert.equal(loadConfig([], { TCP_ECHO_PORT: '8082' }).tcpEchoPort, 8082)
  assert.equal(loadConfig(['--tcp-echo-port', '0'], { TCP_ECHO_PORT: '8082' }).tcpEchoPort, 0)
  assert.equal(loadConfig(['--tcp-echo-max-connections', '5', '--tcp-echo-idle-timeout-ms', '0']).tcpEchoMaxConnections, 5)
  assert.throws(() => loadConfig([], { TCP_ECHO_PORT: 'yes' }), { message: /^TCP_ECHO_PORT: "yes" is not a port number from 0 to 65535, or off/ })
  assert.throws(() => loadConfig(['--port', '8080', '--tcp-echo-port', '8080']), { message: /^TCP_ECHO_PORT: must differ from PORT \(8080\)/ })
  assert.throws(() => loadConfig(['--baseline-port', '8081', '--tcp-echo-port', '8081']), { message: /^TCP_ECHO_PORT: must differ from BASELINE_PORT \(8081\)/ })
  assert.throws(() => loadConfig(['--tcp-echo-max-connections', '0']), { message: /^TCP_ECHO_MAX_CONNECTIONS: "0" is not a whole number from 1/ })
  const help = await runCli(['serve', '--help'])
  assert.match(help.stdout, /--tcp-echo-port\s+TCP_ECHO_PORT\s+default off/)
  assert.match(help.stdout, /--tcp-echo-idle-timeout-ms\s+TCP_ECHO_IDLE_TIMEOUT_MS\s+default 3660000/)
})

test('the CLI opens the echo beside HTTP, and SIGTERM closes both with exit 0', async () => {
  const pm = await startCli(['serve', '--delay-ms', '0', '--tcp-echo-port', '0'])
  await waitFor('the echo line', () => /TCP echo on tcp:\/\/\S+/.test(pm.output()))
  const url = /TCP echo on (tcp:\/\/\S+)/.exec(pm.output())?.[1] as string
  const socket = await tcpConnect(Number(new URL(url).port))
  assert.equal((await echo(socket, Buffer.from('cli'))).toString(), 'cli')
  const end = closed(socket)
  pm.child.kill('SIGTERM')
  assert.equal(await pm.exit, 0, pm.output())
  assert.equal((await end).ended, true)
  await assert.rejects(tcpConnect(Number(new URL(url).port)))
})
