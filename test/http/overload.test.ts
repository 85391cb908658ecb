// 5,000 connections at once against MAX_CONNECTIONS=4,000: the server stays
// up, its memory stays bounded, and the 1,000 it refuses are counted, exactly.
// Server and client are child processes started with the file limit raised
// (each needs more than 4,000 descriptors).

import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { CLI, getJson, request, ROOT, waitFor } from '../support/helpers.js'

const FLOOD = fileURLToPath(new URL('../fixtures/connection-flood.js', import.meta.url))
const FILES = 20_000
const CONNECTIONS = 5000
const MAX = 4000

/** Runs `args` under sh with the open-file limit raised to FILES (or as far as the hard limit allows). */
function raised (args: string[]): ChildProcess {
  const script = `ulimit -n ${FILES} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`
  return spawn('sh', ['-c', script, process.execPath, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
}

function openFiles (pid: number | undefined): number {
  const m = /^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${String(pid)}/limits`, 'utf8'))
  return Number(m?.[1] ?? 0)
}

function rssMiB (pid: number | undefined): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'))?.[1]) / 1024
}

async function line (child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  let out = ''
  return await new Promise((resolve, reject) => {
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString()
      const m = pattern.exec(out)
      if (m !== null) resolve(m)
    })
    child.stderr?.on('data', (c: Buffer) => { out += c.toString() })
    child.once('exit', (code) => reject(new Error(`exited with ${String(code)} before ${String(pattern)}: ${out}`)))
  })
}

test(`${CONNECTIONS} connections at once, MAX_CONNECTIONS ${MAX}: up, memory bounded, every refusal counted`, async (t) => {
  const server = raised([CLI, 'serve', '--host', '127.0.0.1', '--port', '0', '--delay-ms', '0', '--max-connections', String(MAX)])
  let client: ChildProcess | undefined
  try {
    const url = (await line(server, /listening on (http:\/\/\S+)/))[1] as string
    assert.ok(openFiles(server.pid) > MAX + 100, `the server may open ${openFiles(server.pid)} files: raise the hard limit (ulimit -Hn) to ${FILES}`)
    await request(`${url}/?delay=0`)
    // Our own keep-alive connection holds one of the slots.
    const ours = (await getJson(`${url}/stats`)).connections_open as number
    const idle = rssMiB(server.pid)

    client = raised([FLOOD, new URL(url).port, String(CONNECTIONS), '/?delay=0'])
    assert.ok(openFiles(client.pid) > CONNECTIONS + 100, `the client may open ${openFiles(client.pid)} files`)
    const tally = JSON.parse((await line(client, /^(\{.*\})$/m))[1] as string) as { answered: number, refused: number, other: number }
    // Every connection the server kept is open now: its memory at the peak.
    const peak = rssMiB(server.pid)
    client.stdin?.end()
    await once(client, 'exit')

    t.diagnostic(`answered ${tally.answered}, refused ${tally.refused}; RSS ${idle.toFixed(1)} MiB idle, ${peak.toFixed(1)} MiB with ${MAX} open: ${((peak - idle) * 1024 / MAX).toFixed(1)} KiB a connection`)
    assert.deepEqual(tally, { answered: MAX - ours, refused: CONNECTIONS - MAX + ours, other: 0 })
    await waitFor('the flood\'s connections to close', async () => (await getJson(`${url}/stats`)).connections_open <= ours)
    const s = await getJson(`${url}/stats`)
    assert.equal(s.connections_rejected, tally.refused, 'each refused connection is counted')
    assert.equal(s.requests, 1 + tally.answered, 'each answered one too')
    assert.equal(s.errors, 0)
    assert.ok(peak - idle < 150, `RSS grew by ${(peak - idle).toFixed(1)} MiB for ${MAX} connections`)
    const metrics = (await request(`${url}/metrics`)).body
    assert.match(metrics, new RegExp(`^podmeter_connections_rejected_total ${tally.refused}$`, 'm'))
    assert.equal((await request(`${url}/livez`)).status, 200, 'still up')
  } finally {
    client?.kill('SIGKILL')
    server.kill('SIGKILL')
  }
})
