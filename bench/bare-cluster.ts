// The bare node:http server of bare-server.ts in N processes with
// node:cluster (the primary accepts and hands connections round-robin):
// the most a user gets from Node on N cores. Usage: node dist/bench/bare-cluster.js PORT N
import cluster from 'node:cluster'
import http from 'node:http'

const port = Number(process.argv[2] ?? 0)
const count = Number(process.argv[3] ?? 1)

if (cluster.isPrimary) {
  let up = 0
  for (let i = 0; i < count; i++) {
    cluster.fork().on('listening', () => { if (++up === count) process.stdout.write(`listening ${port}\n`) })
  }
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM')
    process.exit(0)
  })
} else {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', '3'])
    res.end('OK\n')
  })
  server.listen(port, '127.0.0.1')
  process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)) })
}
