// What a comparison must hold equal: each result's fingerprint, field by
// field. Two targets whose rounds differ in a field that changes the answer
// (the payload: a 64 KiB POST costs a proxy more than a GET) are not
// compared unless the difference is declared with --allow-different FIELD;
// compare then exits 2 and says which field differs, where.
//
// A field is one entry of FIELDS: its name (what --allow-different takes),
// its title, and the value of a result, with a note when the result predates
// the field and the value is assumed. Adding a field (the Istio version, the
// placement, proxy concurrency…) is adding an entry.

import { fmtPayload } from './format.js'
import type { Comparison } from './comparison.js'
import type { LoadResult } from './result.js'

export interface FieldValue {
  /** Equal keys are the same value. */
  key: string
  /** The value for people: `POST, 1,024-byte request bodies`. */
  text: string
  /** Set when the result does not record the field and the value is assumed: why, and what was taken. */
  assumed?: string
}

export interface FingerprintField {
  /** The name --allow-different takes. */
  name: string
  /** What it is, for the message: `payload (method and request body size)`. */
  title: string
  /** Why a difference matters, for the refusal. */
  why: string
  value: (r: LoadResult) => FieldValue
}

const payload: FingerprintField = {
  name: 'payload',
  title: 'payload (method and request body size)',
  why: 'what a proxy does per request grows with what the request carries, so the difference would be the payloads\'',
  value: (r) => {
    const p = (r as Partial<LoadResult>).payload
    if (p === undefined || p === null) {
      // Written before results recorded their payload: -b was the only body then, and it was not recorded.
      const method = typeof r.method === 'string' ? r.method : 'GET'
      return { key: `${method} 0`, text: fmtPayload(method, 0), assumed: `has no payload record (written by an older podmeter): taken as ${method} with no request body` }
    }
    return { key: `${p.method} ${p.request_body_bytes}`, text: fmtPayload(p.method, p.request_body_bytes) }
  }
}

/** Every field a comparison holds equal, in the order they are checked. */
export const FIELDS: readonly FingerprintField[] = [payload]

export interface FingerprintCheck {
  /** One sentence per field that differs and was not allowed. */
  refusals: string[]
  /** Differences that were allowed, and values that were assumed: for stderr. */
  notes: string[]
}

/** --allow-different: comma-separated, repeatable field names; an unknown one is refused. */
export function allowedFields (values: readonly string[]): { allowed: Set<string>, unknown: string[] } {
  const names = values.flatMap((v) => v.split(',')).map((n) => n.trim()).filter((n) => n !== '')
  const known = new Set(FIELDS.map((f) => f.name))
  return { allowed: new Set(names.filter((n) => known.has(n))), unknown: names.filter((n) => !known.has(n)) }
}

/** `a round 1; b rounds 2, 3` */
function whereText (where: Map<string, number[]>): string {
  return [...where].map(([name, rounds]) => `${name} round${rounds.length === 1 ? '' : 's'} ${rounds.join(', ')}`).join('; ')
}

function note (into: Map<string, Map<string, number[]>>, key: string, target: string, round: number): void {
  let where = into.get(key)
  if (where === undefined) { where = new Map(); into.set(key, where) }
  const rounds = where.get(target) ?? []
  rounds.push(round)
  where.set(target, rounds)
}

/** Checks every field over every round of every target. */
export function checkFingerprints (c: Comparison, allowed: ReadonlySet<string>): FingerprintCheck {
  const refusals: string[] = []
  const notes: string[] = []
  for (const field of FIELDS) {
    // Each value's key → where it was seen; each assumption → where it was made.
    const seen = new Map<string, Map<string, number[]>>()
    const texts = new Map<string, string>()
    const assumed = new Map<string, Map<string, number[]>>()
    for (const t of c.targets) {
      t.rounds.forEach((round, i) => {
        const v = field.value(round)
        texts.set(v.key, v.text)
        note(seen, v.key, t.name, i + 1)
        if (v.assumed !== undefined) note(assumed, v.assumed, t.name, i + 1)
      })
    }
    for (const [why, where] of assumed) notes.push(`note: ${whereText(where)} ${why}`)
    if (seen.size < 2) continue
    const list = [...seen].map(([key, where]) => `${texts.get(key) as string} (${whereText(where)})`).join(' and ')
    if (allowed.has(field.name)) notes.push(`note: the results differ in ${field.title}, as allowed by --allow-different ${field.name}: ${list}`)
    else refusals.push(`the results differ in ${field.title}: ${list}; ${field.why}: compare like with like, or pass --allow-different ${field.name}`)
  }
  return { refusals, notes }
}
