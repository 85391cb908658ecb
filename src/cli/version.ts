// PodMeter's own version: package.json's, read once. `--version` prints it
// and every load result records it in its fingerprint.

import { readFileSync } from 'node:fs'

let cached: string | null | undefined

/** package.json's version (dist/src/cli → the package root); null if it cannot be read. */
export function podmeterVersion (): string | null {
  if (cached !== undefined) return cached
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown }
    cached = typeof pkg.version === 'string' ? pkg.version : null
  } catch {
    cached = null
  }
  return cached
}
