// Numbers and tables for people: terminal tables with aligned columns,
// markdown tables, and the units the commands print.

export type Cell = string | number | null | undefined

export function fmtMs (ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–'
  return ms.toFixed(3)
}

export function fmtInt (n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–'
  return Math.round(n).toLocaleString('en-US')
}

export function fmtNum (n: number | null | undefined, digits = 1): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–'
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/** A rate of bytes in SI units: `812 B/s`, `204.8 kB/s`, `1.25 MB/s`, `3.40 GB/s`. */
export function fmtByteRate (perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '–'
  if (perSecond < 1e3) return `${fmtNum(perSecond, 0)} B/s`
  if (perSecond < 1e6) return `${fmtNum(perSecond / 1e3, 1)} kB/s`
  if (perSecond < 1e9) return `${fmtNum(perSecond / 1e6, 2)} MB/s`
  return `${fmtNum(perSecond / 1e9, 2)} GB/s`
}

/** A payload in words: `GET, no request body`, `POST, 1,024-byte request bodies`. */
export function fmtPayload (method: string, bodyBytes: number): string {
  return `${method}, ${bodyBytes === 0 ? 'no request body' : `${fmtInt(bodyBytes)}-byte request bod${bodyBytes === 1 ? 'y' : 'ies'}`}`
}

/** `p99.9` for 99.9. */
export const pName = (p: number): string => `p${String(p)}`

/** A terminal table: the first column and those in `left` left-aligned, the others right-aligned. */
export function textTable (header: Cell[], rows: Cell[][], indent = '  ', left: ReadonlySet<number> = new Set()): string {
  const all = [header, ...rows].map((r) => r.map((c) => (c === null || c === undefined ? '–' : String(c))))
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)))
  return all.map((r) => indent + r.map((c, i) => (i === 0 || left.has(i) ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ').trimEnd()).join('\n')
}

export function markdownTable (header: Cell[], rows: Cell[][], left: ReadonlySet<number> = new Set()): string {
  const esc = (c: Cell): string => (c === null || c === undefined ? '–' : String(c)).replace(/\|/g, '\\|')
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 || left.has(i) ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)
  ].join('\n')
}

export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string)
}

/** An HTML table: the first column and those in `text` are text, the others numbers (right-aligned). */
export function htmlTable (header: Cell[], rows: Cell[][], text: ReadonlySet<number> = new Set()): string {
  const cls = (i: number): string => (i === 0 ? '' : text.has(i) ? ' class="text"' : ' class="num"')
  const cell = (c: Cell, tag: string, i: number): string => `<${tag}${cls(i)}>${escapeHtml(c === null || c === undefined ? '–' : String(c))}</${tag}>`
  return [
    '<table>',
    `<thead><tr>${header.map((c, i) => cell(c, 'th', i)).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((r) => `<tr>${r.map((c, i) => cell(c, 'td', i)).join('')}</tr>`),
    '</tbody></table>'
  ].join('\n')
}
