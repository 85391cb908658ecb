// What `docker build` does with our Dockerfile, without a Docker engine: parse
// the Dockerfile, make the build context (the repository's files less
// .dockerignore), then run each stage in a directory of its own standing in for
// that stage's filesystem: WORKDIR, ENV, COPY (from the context or another
// stage) and RUN (with `sh -c`, the base image's node and npm being this
// machine's). The last stage's directory is then the image's file set.
// Enough Dockerfile for ours; anything else is refused, not guessed.

import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs'
import os from 'node:os'
import { dirname, join, posix } from 'node:path'

export interface Instruction {
  op: string
  /** `--name=value` flags before the arguments (COPY --from, RUN --mount). */
  flags: Record<string, string>
  args: string
  line: number
}

export interface Stage {
  name: string | undefined
  image: string
  instructions: Instruction[]
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Record<string, string>
  stages: Stage[]
}

const KNOWN = new Set(['FROM', 'ARG', 'ENV', 'WORKDIR', 'COPY', 'RUN', 'USER', 'EXPOSE', 'CMD', 'ENTRYPOINT', 'LABEL', 'HEALTHCHECK'])

export function parseDockerfile (text: string): Dockerfile {
  const df: Dockerfile = { globalArgs: {}, stages: [] }
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1
    let line = lines[i] as string
    if (/^\s*(#|$)/.test(line)) continue
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + (lines[++i] as string).trim()
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line)
    if (m === null) throw new Error(`Dockerfile line ${start}: cannot parse ${JSON.stringify(line)}`)
    const op = (m[1] as string).toUpperCase()
    if (!KNOWN.has(op)) throw new Error(`Dockerfile line ${start}: ${op} is not handled by this stand-in for docker build`)
    let args = (m[2] as string).trim()
    const flags: Record<string, string> = {}
    for (let f = /^--([a-z-]+)=(\S+)\s+/.exec(args); f !== null; f = /^--([a-z-]+)=(\S+)\s+/.exec(args)) {
      flags[f[1] as string] = f[2] as string
      args = args.slice(f[0].length)
    }
    if (op === 'ARG' && df.stages.length === 0) {
      const [name, value = ''] = args.split('=')
      df.globalArgs[name as string] = value
    } else if (op === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)
      if (from === null) throw new Error(`Dockerfile line ${start}: FROM ${args}`)
      const image = (from[1] as string).replace(/\$\{?(\w+)\}?/g, (_, v: string) => df.globalArgs[v] ?? '')
      df.stages.push({ name: from[2], image, instructions: [] })
    } else {
      const stage = df.stages.at(-1)
      if (stage === undefined) throw new Error(`Dockerfile line ${start}: ${op} before FROM`)
      stage.instructions.push({ op, flags, args, line: start })
    }
  }
  return df
}

/** `node:24.1.0-alpine3.22@sha256:…` → { repository: 'node', tag: '24.1.0-alpine3.22' }; tag undefined when absent. */
export function imageTag (image: string): { repository: string, tag: string | undefined } {
  const noDigest = image.split('@')[0] as string
  const slash = noDigest.lastIndexOf('/')
  const colon = noDigest.lastIndexOf(':')
  return colon > slash ? { repository: noDigest.slice(0, colon), tag: noDigest.slice(colon + 1) } : { repository: noDigest, tag: undefined }
}

function globToRegExp (glob: string): RegExp {
  let re = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string
    if (c === '*' && glob[i + 1] === '*') {
      i++
      if (glob[i + 1] === '/') { i++; re += '(?:.*/)?' } else re += '.*'
    } else if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

/**
 * Docker's .dockerignore rule: a path is out when the last pattern that matches
 * it, or one of its parent directories, is not a `!` pattern.
 */
export function dockerignore (text: string): (path: string) => boolean {
  const patterns = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')).map((l) => {
    const negate = l.startsWith('!')
    const glob = posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, '')).replace(/\/$/, '')
    return { negate, re: globToRegExp(glob) }
  })
  return (path) => {
    const parts = path.split('/')
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'))
    let out = false
    for (const p of patterns) if (prefixes.some((x) => p.re.test(x))) out = !p.negate
    return out
  }
}

/** The build context: the repository's files (tracked, and new ones git does not ignore) less .dockerignore, copied to `to`. */
export function makeContext (repo: string, to: string): string[] {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repo, encoding: 'utf8' })
  const ignoreFile = join(repo, '.dockerignore')
  const excluded = existsSync(ignoreFile) ? dockerignore(readFileSync(ignoreFile, 'utf8')) : () => false
  const files = listed.split('\0').filter((f) => f !== '' && existsSync(join(repo, f)) && !excluded(f))
  for (const f of files) {
    mkdirSync(dirname(join(to, f)), { recursive: true })
    cpSync(join(repo, f), join(to, f))
  }
  return files
}

export interface StageResult { root: string, workdir: string, env: Record<string, string>, user: string | undefined, cmd: string[] | undefined }

/**
 * Runs every stage under `work`. RUN gets this machine's PATH (its node and npm
 * stand in for the base image's) and npm's cache, offline first.
 */
export function buildStages (df: Dockerfile, context: string, work: string): StageResult[] {
  const results: StageResult[] = []
  const byName = new Map<string, StageResult>()
  const npmCache = process.env.npm_config_cache ?? join(os.homedir(), '.npm')
  df.stages.forEach((stage, index) => {
    const r: StageResult = { root: join(work, `stage-${index}`), workdir: '/', env: {}, user: undefined, cmd: undefined }
    mkdirSync(r.root, { recursive: true })
    const inRoot = (p: string): string => join(r.root, posix.resolve(r.workdir, p))
    for (const ins of stage.instructions) {
      switch (ins.op) {
        case 'WORKDIR':
          r.workdir = posix.resolve(r.workdir, ins.args)
          mkdirSync(inRoot('.'), { recursive: true })
          break
        case 'ENV':
          for (const m of ins.args.matchAll(/(\w+)=(\S+)/g)) r.env[m[1] as string] = m[2] as string
          break
        case 'USER':
          r.user = ins.args
          break
        case 'CMD':
          r.cmd = JSON.parse(ins.args) as string[]
          break
        case 'COPY': {
          const parts = ins.args.split(/\s+/)
          const dest = parts.pop() as string
          const from = ins.flags.from === undefined ? undefined : byName.get(ins.flags.from)
          if (ins.flags.from !== undefined && from === undefined) throw new Error(`line ${ins.line}: no stage ${ins.flags.from}`)
          for (const src of parts) {
            const source = from === undefined ? join(context, src) : join(from.root, posix.resolve(from.workdir, src))
            if (!existsSync(source)) throw new Error(`line ${ins.line}: COPY ${src}: not in the ${from === undefined ? 'build context' : 'stage'}`)
            const into = dest.endsWith('/') || parts.length > 1 ? join(inRoot(dest), posix.basename(src)) : inRoot(dest)
            // A directory's contents go to dest, as docker does.
            cpSync(source, statSync(source).isDirectory() ? inRoot(dest) : into, { recursive: true, verbatimSymlinks: true })
          }
          break
        }
        case 'RUN': {
          const run = spawnSync('/bin/sh', ['-c', ins.args], {
            cwd: inRoot('.'),
            env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(work, 'home'), npm_config_cache: npmCache, npm_config_prefer_offline: 'true', ...r.env },
            encoding: 'utf8',
            timeout: 300_000
          })
          if (run.status !== 0) throw new Error(`line ${ins.line}: RUN ${ins.args} exited ${String(run.status)}\n${run.stdout}\n${run.stderr}`)
          break
        }
        default:
          break
      }
    }
    results.push(r)
    if (stage.name !== undefined) byName.set(stage.name, r)
  })
  return results
}
