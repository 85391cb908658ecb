// The Go original's /stats document as its `Stats` struct declares it: each
// key and its Go type, and a strict decoder of a /stats answer's JSON text
// with Go's encoding/json rules for those types. An int64 (int, uint32)
// field takes only a JSON integer literal in its range: `9.113`, `9.0`,
// `1e3` or a string fail there (`cannot unmarshal number 9.113 into Go struct
// field Stats.uptime_seconds of type int64`). A float64 takes any number, a
// bool only true or false, a string only a string. Go leaves a field at its
// zero value on `null`; PodMeter may send null only where docs/stats.md says
// it can, and never for an integer.

/** A Go type of the struct, as JSON sees it. */
export type GoType = 'int64' | 'int' | 'uint32' | 'float64' | 'bool' | 'string' | 'map[string]string'

export interface OriginalKey {
  go: GoType
  /** PodMeter documents null for this key (no sample yet, unknown to Node, unreadable). */
  nullable?: true
  /** `omitempty` in the original: absent is what it sends when empty. */
  optional?: true
}

/** Every key of the original's Stats struct, in its order. */
export const ORIGINAL_STATS: Readonly<Record<string, OriginalKey>> = {
  requests: { go: 'int64' },
  errors: { go: 'int64' },
  requests_per_second: { go: 'float64' },
  success_rate_percent: { go: 'float64', nullable: true },
  avg_latency_ms: { go: 'float64', nullable: true },
  p50_latency_ms: { go: 'float64', nullable: true },
  p95_latency_ms: { go: 'float64', nullable: true },
  p99_latency_ms: { go: 'float64', nullable: true },
  p999_latency_ms: { go: 'float64', nullable: true },
  min_latency_ms: { go: 'float64', nullable: true },
  max_latency_ms: { go: 'float64', nullable: true },
  memory_heap_mb: { go: 'float64' },
  memory_sys_mb: { go: 'float64' },
  memory_total_alloc_mb: { go: 'float64', nullable: true },
  goroutines: { go: 'int' },
  gc_pause_ms: { go: 'float64' },
  num_gc: { go: 'uint32' },
  uptime_seconds: { go: 'int64' },
  current_hop_count: { go: 'int' },
  proxy_hop_count: { go: 'int' },
  service_mesh_hops: { go: 'int' },
  total_hop_count: { go: 'int' },
  avg_proxy_hops: { go: 'float64' },
  proxy_detected: { go: 'bool' },
  istio_sidecar_detected: { go: 'bool' },
  waypoint_proxy_detected: { go: 'bool' },
  service_mesh_mode: { go: 'string' },
  requests_via_proxy: { go: 'int64' },
  debug_headers: { go: 'map[string]string', optional: true },
  hostname: { go: 'string' },
  os: { go: 'string' },
  architecture: { go: 'string' },
  num_cpu: { go: 'int' },
  kernel_version: { go: 'string' },
  total_memory_mb: { go: 'float64' },
  available_memory_mb: { go: 'float64' },
  total_disk_gb: { go: 'float64', nullable: true },
  available_disk_gb: { go: 'float64', nullable: true },
  disk_usage_percent: { go: 'float64', nullable: true }
}

/** The JSON type each Go type needs: integer, number, boolean, string or object. */
export const JSON_TYPE: Record<GoType, 'integer' | 'number' | 'boolean' | 'string' | 'object'> = {
  int64: 'integer', int: 'integer', uint32: 'integer', float64: 'number', bool: 'boolean', string: 'string', 'map[string]string': 'object'
}

const RANGE: Partial<Record<GoType, [bigint, bigint]>> = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  // int is 64 bits on every platform the original ships for (amd64, arm64).
  int: [-(2n ** 63n), 2n ** 63n - 1n],
  uint32: [0n, 2n ** 32n - 1n]
}

/**
 * The literal text of each top-level value of a JSON object, by key (a
 * JSON.parse of the same text gives the values; this keeps what they were
 * written as, which JSON.parse forgets: `9.0` and `9` are one number there).
 */
export function topLevelLiterals (text: string): Map<string, string> {
  const out = new Map<string, string>()
  let i = 0
  const ws = (): void => { while (/\s/.test(text[i] ?? '')) i++ }
  const str = (): string => {
    const start = i++
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1
    i++
    return text.slice(start, i)
  }
  const value = (): string => {
    ws()
    const start = i
    const c = text[i]
    if (c === '"') { str(); return text.slice(start, i) }
    if (c === '{' || c === '[') {
      let depth = 0
      do {
        const d = text[i]
        if (d === '"') { str(); continue }
        if (d === '{' || d === '[') depth++
        if (d === '}' || d === ']') depth--
        i++
      } while (depth > 0)
      return text.slice(start, i)
    }
    while (i < text.length && !/[,}\]\s]/.test(text[i] as string)) i++
    return text.slice(start, i)
  }
  ws()
  if (text[i++] !== '{') throw new Error('not a JSON object')
  for (;;) {
    ws()
    if (text[i] === '}') return out
    const key = JSON.parse(str()) as string
    ws()
    if (text[i++] !== ':') throw new Error(`no colon after ${key}`)
    out.set(key, value())
    ws()
    if (text[i] === ',') { i++; continue }
    if (text[i] === '}') return out
    throw new Error(`malformed object after ${key}`)
  }
}

/** Why the original's Go client could not decode `text`, or would lose a key PodMeter must send; empty when it decodes. */
export function goDecodeErrors (text: string): string[] {
  const errors: string[] = []
  const literals = topLevelLiterals(text)
  for (const [key, spec] of Object.entries(ORIGINAL_STATS)) {
    const literal = literals.get(key)
    const where = `${key} (${spec.go})`
    if (literal === undefined) {
      if (spec.optional !== true) errors.push(`${where}: missing`)
      continue
    }
    if (literal === 'null') {
      if (spec.nullable !== true) errors.push(`${where}: null, where PodMeter must send a value`)
      continue
    }
    const range = RANGE[spec.go]
    const value = JSON.parse(literal) as unknown
    switch (JSON_TYPE[spec.go]) {
      case 'integer':
        if (!/^-?(0|[1-9]\d*)$/.test(literal) || !Number.isInteger(value)) errors.push(`${where}: ${literal} is not an integer literal: cannot unmarshal number ${literal} into int`)
        else if (range !== undefined && (BigInt(literal) < range[0] || BigInt(literal) > range[1])) errors.push(`${where}: ${literal} overflows ${spec.go}`)
        break
      case 'number':
        if (typeof value !== 'number') errors.push(`${where}: ${literal} is not a number`)
        break
      case 'boolean':
        if (typeof value !== 'boolean') errors.push(`${where}: ${literal} is not true or false`)
        break
      case 'string':
        if (typeof value !== 'string') errors.push(`${where}: ${literal} is not a string`)
        break
      case 'object':
        if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) errors.push(`${where}: ${literal.slice(0, 60)} is not an object of strings`)
        break
    }
  }
  return errors
}
