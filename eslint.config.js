// Lint: neostandard (the style of fastify, pino and undici) with TypeScript,
// plus the project's import rules, which keep the layout readable from the
// folder names alone:
//   src/cli     the top: the podmeter commands; may import src/main and src/shared
//   src/main    the main thread; never imports src/cli or src/worker
//   src/worker  the pool's tasks; imports only src/shared
//   src/shared  both threads and the CLI; imports nothing of theirs
import neostandard from 'neostandard'

const only = (message, ...folders) => ({
  patterns: folders.map((folder) => ({ group: [`**/${folder}/*`, `../${folder}/*`], message }))
})

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'node_modules/**', 'bench/out/**'] }),
  {
    files: ['src/main/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', only('src/main imports nothing from src/cli or src/worker (the task protocol is src/shared/protocol.ts)', 'cli', 'worker', 'dashboard')] }
  },
  {
    files: ['src/worker/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', only('src/worker imports only src/shared', 'cli', 'main', 'dashboard')] }
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', only('src/cli never imports src/worker (the HDR math is src/shared/hdr.ts)', 'worker', 'dashboard')] }
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', only('src/shared knows no thread: it imports nothing from src/cli, src/main or src/worker', 'cli', 'main', 'worker', 'dashboard')] }
  }
]
