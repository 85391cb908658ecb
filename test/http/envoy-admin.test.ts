import assert from 'node:assert/strict'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { test } from 'node:test'
import { parseAddress, parseMemory, probeEnvoyAdmin } from '../../src/main/envoy-admin.js'
import { startFakeEnvoyAdmin } from '../support/helpers.js'

async function listen (server: net.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `127.0.0.1:${(server.address() as AddressInfo).port}`
}

test('addresses and /memory bodies', () => {
  assert.deepEqual(parseAddress('127.0.0.1:15000'), { host: '127.0.0.1', port: 15000 })
  assert.deepEqual(parseAddress('[::1]:15000'), { host: '::1', port: 15000 })
  assert.equal(parseAddress('127.0.0.1'), undefined)
  assert.equal(parseAddress('127.0.0.1:0'), undefined)
  assert.deepEqual(parseMemory('{"allocated":"1048576","heap_size":"2097152"}'), { allocated: 1048576, heapSize: 2097152, physical: undefined })
  assert.deepEqual(parseMemory('{"allocated":5,"heap_size":6,"total_physical_bytes":"7"}'), { allocated: 5, heapSize: 6, physical: 7 })
  for (const body of ['', 'null', '[]', '{"allocated":"-1","heap_size":"1"}', '{"allocated":"1"}', '<html>']) assert.equal(parseMemory(body), undefined, body)
})

test('a real Envoy-like admin answers with its memory', async () => {
  const admin = await startFakeEnvoyAdmin()
  try {
    const probe = await probeEnvoyAdmin(admin.address)
    assert.deepEqual(probe, { reachable: true, memory: { allocated: 7065960, heapSize: 10485760, physical: 12582912 } })
  } finally {
    await admin.close()
  }
})

test('whatever else listens there is not Envoy: refused, 404, other JSON, endless, silent', async () => {
  const closed = net.createServer()
  const refusedAt = await listen(closed)
  await new Promise<void>((resolve) => closed.close(() => resolve()))
  assert.deepEqual(await probeEnvoyAdmin(refusedAt), { reachable: false, reason: 'ECONNREFUSED' })

  // An app of the pod's own on that port: first without /memory, then with a /memory of its own.
  let hasMemory = false
  const app = http.createServer((_req, res) => {
    if (hasMemory) res.end('{"status":"ok","rss":"12345"}')
    else res.writeHead(404).end()
  })
  const appAt = await listen(app)
  const endless = http.createServer((_req, res) => {
    res.writeHead(200)
    const chunk = 'x'.repeat(16 * 1024)
    const pump = (): void => {
      let more = true
      while (more) more = res.write(chunk)
      res.once('drain', pump)
    }
    pump()
  })
  const endlessAt = await listen(endless)
  const silent = net.createServer((socket) => socket.resume()) // reads, never answers
  const silentAt = await listen(silent)
  try {
    assert.deepEqual(await probeEnvoyAdmin(appAt), { reachable: false, reason: 'GET /memory answered 404' })
    hasMemory = true
    assert.deepEqual(await probeEnvoyAdmin(appAt), { reachable: false, reason: 'GET /memory did not answer as Envoy does' })
    const big = await probeEnvoyAdmin(endlessAt)
    assert.equal(big.reachable, false, 'an endless body is cut off, not read to the end')
    assert.deepEqual(await probeEnvoyAdmin(silentAt, 100), { reachable: false, reason: 'no answer within 100 ms' })
  } finally {
    for (const s of [app, endless]) s.closeAllConnections()
    await Promise.all([app, endless, silent].map(async (s) => await new Promise((resolve) => s.close(resolve))))
  }
})
