// The TCP echo behind a real HAProxy in `mode tcp`, the lab's stand-in for
// ztunnel: what the client sent is what the pod counted, byte for byte, and
// a hop's delay lands in the client's round trip, not in the pod's echo
// time. The delay is 50 ms, far above any scheduling noise, so the
// assertions hold on a busy machine.

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Running } from '../../src/main/serve.js'
import type { TcpLoadResult } from '../../src/cli/tcp-result.js'
import { getJson, request, runCli, startServer, waitFor } from '../support/helpers.js'
import { delayProxy, startHaproxyTcp, type Hop, type Proxy } from '../support/proxies.js'

async function load (args: string[]): Promise<TcpLoadResult> {
  const r = await runCli(['load', ...args, '--warmup', '0', '--json', '--quiet'])
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout) as TcpLoadResult
}

describe('the TCP echo behind HAProxy in mode tcp', () => {
  let pm: Running
  let echoPort: number
  const proxies: Proxy[] = []
  const hops: Hop[] = []
  const echoStats = async (): Promise<Record<string, any>> => (await getJson(`${pm.url}/stats`)).tcp_echo
  before(async () => {
    pm = await startServer({ delayUs: 0, tcpEchoPort: 0 })
    echoPort = pm.tcpEcho?.port as number
  })
  after(async () => {
    await Promise.all(proxies.map(async (p) => await p.stop()))
    await Promise.all(hops.map(async (h) => await h.close()))
    await pm.shutdown()
  })

  test('every message through the proxy is counted on both sides, with its bytes and connections', async () => {
    const haproxy = await startHaproxyTcp(`127.0.0.1:${echoPort}`)
    proxies.push(haproxy)
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const before = await echoStats()
    const r = await load([`tcp://${haproxy.address}`, '-n', '2000', '-c', '4', '--payload', '256', '--stats-url', `${pm.url}/stats`])
    assert.deepEqual([r.sent, r.responses, r.errors], [2000, 2000, 0])
    assert.deepEqual([r.tcp.bytes_sent, r.tcp.bytes_received], [512_000, 512_000])
    await waitFor('the proxy to close its connections to the pod', async () => (await echoStats()).connections_open === 0)
    const s = await echoStats()
    assert.deepEqual([s.bytes_in, s.bytes_out], [512_000, 512_000], 'HAProxy forwarded every byte, both ways')
    assert.equal(s.messages, 2000, 'one message at a time per connection: each is one read at the pod')
    assert.equal(s.samples, 2000)
    assert.equal(s.connections_opened - before.connections_opened, 4, 'one connection to the pod per client connection')
    assert.equal(s.connections_closed - before.connections_closed, 4)
    assert.equal(s.connections_failed, 0)
  })

  test('a hop that adds 50 ms lands in the client\'s round trip, not in the pod\'s echo time', async () => {
    const delayed = await delayProxy(echoPort, 50)
    hops.push(delayed)
    const haproxy = await startHaproxyTcp(`127.0.0.1:${delayed.port}`)
    proxies.push(haproxy)
    await request(`${pm.url}/stats/reset`, { method: 'POST' })
    const r = await load([`tcp://${haproxy.address}`, '-n', '40', '-c', '2', '--payload', '100', '--stats-url', `${pm.url}/stats`])
    assert.equal(r.responses, 40)
    const client = r.latency_ms.e2e?.percentiles['50'] as number
    const pod = r.tcp.pod?.p50_latency_ms as number
    assert.equal(r.tcp.pod?.messages, 40)
    // A timer of 50 ms may fire up to 1 ms early on libuv's millisecond clock.
    assert.ok(client >= 49, `the hop's 50 ms are in the round trip: p50 ${client} ms`)
    assert.ok(pod < 25, `and not in the pod's echo time: p50 ${pod} ms`)
  })
})
