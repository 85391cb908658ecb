// What a comparison must hold equal: each result's fingerprint, field by
// field (fingerprint-fields.ts). Two targets whose rounds differ in a field
// that changes the answer (the payload: a 64 KiB POST costs a proxy more than
// a GET) are not compared unless the difference is declared with
// --allow-different FIELD; compare then exits 2 and says which field
// differs, where. Every difference, and every value known for one target and
// not for another, is shown in a table on stderr.
//
// Unknown values (a result without a fingerprint, a fact its target did not
// show) are never refused: they are shown as `?`, and a result without a
// fingerprint gets one note naming what it lacks.

import { type FieldValue, FIELDS, type FingerprintField } from './fingerprint-fields.js'
import type { Comparison } from './comparison.js'
import { textTable } from './format.js'

export { FIELDS, type FieldValue, type FingerprintField } from './fingerprint-fields.js'

export interface FingerprintCheck {
  /** One sentence per field that differs and was not allowed. */
  refusals: string[]
  /** Differences that were allowed, and values that were assumed or unknown: for stderr. */
  notes: string[]
  /** The fields that differ or are unknown somewhere, a row each with every target's values; null when there is none. */
  table: string | null
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

/** The group a key falls in: the first key seen that is the same value (equal, or `same`). */
function groupOf (field: FingerprintField, groups: readonly string[], key: string): string {
  return groups.find((g) => g === key || (field.same?.(g, key) ?? false)) ?? key
}

interface FieldSurvey {
  /** Each value's group key → where it was seen, per value of the `within` field ('' without one). */
  partitions: Map<string, Map<string, Map<string, number[]>>>
  /** Every group key over all partitions → its text. */
  texts: Map<string, string>
  /** Each target's values, as shown in the table, in the order seen. */
  cells: Map<string, Set<string>>
  unknownSomewhere: boolean
  assumed: Map<string, Map<string, number[]>>
}

function survey (c: Comparison, field: FingerprintField, noFingerprint: Map<string, Set<string>>): FieldSurvey {
  const s: FieldSurvey = { partitions: new Map(), texts: new Map(), cells: new Map(), unknownSomewhere: false, assumed: new Map() }
  const within = FIELDS.find((f) => f.name === field.within)
  for (const t of c.targets) {
    const cells = new Set<string>()
    s.cells.set(t.name, cells)
    t.rounds.forEach((round, i) => {
      const v: FieldValue = field.value(round)
      cells.add(v.text)
      if (v.key === null) {
        if (v.unknown === undefined) return
        s.unknownSomewhere = true
        if (v.unknown === 'no-fingerprint') {
          const where = `${t.name} round ${i + 1}`
          noFingerprint.set(where, (noFingerprint.get(where) ?? new Set()).add(field.name))
        }
        return
      }
      const group = groupOf(field, [...s.texts.keys()], v.key)
      if (!s.texts.has(group)) s.texts.set(group, v.text)
      const part = within?.value(round).key ?? ''
      let seen = s.partitions.get(part)
      if (seen === undefined) { seen = new Map(); s.partitions.set(part, seen) }
      note(seen, group, t.name, i + 1)
      if (v.assumed !== undefined) note(s.assumed, v.assumed, t.name, i + 1)
    })
  }
  return s
}

/** Checks every field over every round of every target. */
export function checkFingerprints (c: Comparison, allowed: ReadonlySet<string>): FingerprintCheck {
  const refusals: string[] = []
  const notes: string[] = []
  const rows: string[][] = []
  // `<target> round <n>` → the fields it has no value for, having no fingerprint.
  const noFingerprint = new Map<string, Set<string>>()
  for (const field of FIELDS) {
    const s = survey(c, field, noFingerprint)
    for (const [why, where] of s.assumed) notes.push(`note: ${whereText(where)} ${why}`)
    // The values that differ among rounds that agree in `within` (all rounds without it).
    const conflicts = [...s.partitions.values()].filter((seen) => seen.size > 1)
    const differs = conflicts.length > 0
    if (differs || s.texts.size > 1 || (s.unknownSomewhere && s.texts.size > 0)) {
      const verdict = differs
        ? (allowed.has(field.name) ? 'differs: allowed' : 'differs: refused')
        : s.texts.size > 1 ? `differs with the ${field.within ?? '?'}: not compared` : 'unknown somewhere: not compared'
      rows.push([field.name, ...c.targets.map((t) => [...(s.cells.get(t.name) ?? [])].join(', ')), verdict])
    }
    if (!differs) continue
    const list = conflicts.map((seen) => [...seen].map(([key, where]) => `${s.texts.get(key) as string} (${whereText(where)})`).join(' and ')).join('; ')
    if (allowed.has(field.name)) notes.push(`note: the results differ in ${field.title}, as allowed by --allow-different ${field.name}: ${list}`)
    else refusals.push(`the results differ in ${field.title}: ${list}; ${field.why}: compare like with like, or pass --allow-different ${field.name}`)
  }
  for (const [where, fields] of noFingerprint) {
    notes.push(`note: ${where} has no fingerprint (written by an older podmeter): its ${[...fields].join(', ')} ${fields.size === 1 ? 'is' : 'are'} unknown, and not held against the others`)
  }
  const table = rows.length === 0
    ? null
    : ['what the results ran on, where it differs or is unknown (? unknown; the targets and their mesh modes are what is compared):',
        textTable(['field', ...c.targets.map((t) => t.name), ''], rows, '  ', new Set(c.targets.map((_, i) => i + 1)).add(c.targets.length + 1))].join('\n')
  return { refusals, notes, table }
}
