// The baseline: a bare node:http server answering `OK\n` with Content-Length,
// the fastest plain answer node gives. Usage: node dist/bench/bare-server.js PORT
import http from 'node:http'

const port = Number(process.argv[2] ?? 0)
const server = http.createServer((_req, res) => {
  res.writeHead(200, ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', '3'])
  res.end('OK\n')
})
server.listen(port, '127.0.0.1', () => {
  const address = server.address()
  process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : port}\n`)
})
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)) })
