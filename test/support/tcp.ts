// Plain TCP clients for the TCP echo's tests: real sockets on loopback.

import { once } from 'node:events'
import net from 'node:net'

/** A connected socket to 127.0.0.1:`port`. */
export async function tcpConnect (port: number): Promise<net.Socket> {
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true })
  await once(socket, 'connect')
  return socket
}

/**
 * Reads from `socket` until `length` bytes came, and resolves with them; rejects if
 * the socket ends or fails first, with how many had come.
 */
export async function readExactly (socket: net.Socket, length: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let got = 0
  return await new Promise<Buffer>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk)
      got += chunk.length
      if (got >= length) { done(); resolve(Buffer.concat(chunks)) }
    }
    const onEnd = (): void => { done(); reject(new Error(`the connection ended after ${got} of ${length} bytes`)) }
    const onError = (err: Error): void => { done(); reject(err) }
    const done = (): void => {
      socket.off('data', onData)
      socket.off('end', onEnd)
      socket.off('error', onError)
      socket.pause()
    }
    socket.on('data', onData)
    socket.once('end', onEnd)
    socket.once('error', onError)
    socket.resume()
  })
}

/** Sends `message` and resolves with the echo of its length. */
export async function echo (socket: net.Socket, message: Buffer): Promise<Buffer> {
  const reply = readExactly(socket, message.length)
  socket.write(message)
  return await reply
}

/** Resolves when `socket` has closed, with whether its peer ended it with a FIN first ('end') and whether it failed. */
export async function closed (socket: net.Socket): Promise<{ ended: boolean, error: string | undefined }> {
  let ended = false
  let error: string | undefined
  socket.on('end', () => { ended = true })
  socket.on('error', (err: NodeJS.ErrnoException) => { error = err.code ?? err.message })
  socket.resume()
  // Not events.once: it rejects on 'error', which here is an answer.
  if (!socket.closed) await new Promise((resolve) => socket.once('close', resolve))
  return { ended, error }
}

/** How a faulty echo answers each chunk it reads. */
export type Fault = 'closed' | 'short' | 'reset' | 'mismatch' | 'silent'

/**
 * A TCP server on 127.0.0.1 that answers each chunk wrongly: `closed` ends
 * the connection (FIN) without a byte back, `short` echoes the first half
 * then ends it, `reset` resets it, `mismatch` echoes it with its first byte
 * changed, `silent` reads and never answers.
 */
export async function startFaultyEcho (fault: Fault): Promise<{ port: number, close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
    socket.on('data', (chunk: Buffer) => {
      switch (fault) {
        case 'closed': socket.end(); break
        case 'short': socket.end(chunk.subarray(0, Math.ceil(chunk.length / 2))); break
        case 'reset': socket.resetAndDestroy(); break
        case 'mismatch': { const copy = Buffer.from(chunk); copy[0] = ((copy[0] as number) + 1) & 0xff; socket.write(copy); break }
        case 'silent': break
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}
