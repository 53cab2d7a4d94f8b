/**
 * A readable line diff of two strategy documents: both pretty-printed with the same key
 * order (`canonicalJson`), then compared line by line (longest common subsequence).
 */

import { KEY_ORDER } from './model'

const NESTED_ORDER = ['indicator', 'price', 'left', 'op', 'right', 'value', 'range', 'values', 'start', 'stop', 'step', 'mode']

function order(keys: string[], top: boolean): string[] {
  const pref = top ? KEY_ORDER : NESTED_ORDER
  const rank = (k: string) => {
    const i = pref.indexOf(k)
    return i < 0 ? pref.length : i
  }
  return [...keys].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))
}

function sortKeys(v: unknown, top: boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => sortKeys(x, false))
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>
    const out: Record<string, unknown> = {}
    for (const k of order(Object.keys(o), top)) out[k] = sortKeys(o[k], false)
    return out
  }
  return v
}

/** The document as indented JSON, keys in a fixed order (so equal documents print equally). */
export function canonicalJson(doc: unknown): string {
  return JSON.stringify(sortKeys(doc, true), null, 2)
}

export interface DiffLine {
  kind: 'same' | 'added' | 'removed'
  text: string
}

/** Line diff of `a` → `b`. */
export function lineDiff(a: string, b: string): DiffLine[] {
  const x = a.split('\n')
  const y = b.split('\n')
  const n = x.length
  const m = y.length
  if (n * m > 4_000_000) {
    return [...x.map((text) => ({ kind: 'removed' as const, text })), ...y.map((text) => ({ kind: 'added' as const, text }))]
  }
  // lcs[i][j]: common lines of x[i..] and y[j..]
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1))
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!)
    }
  }
  const out: DiffLine[] = []
  let i = 0
  let j = 0
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      out.push({ kind: 'same', text: x[i]! })
      i++
      j++
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) {
      out.push({ kind: 'removed', text: x[i++]! })
    } else {
      out.push({ kind: 'added', text: y[j++]! })
    }
  }
  while (i < n) out.push({ kind: 'removed', text: x[i++]! })
  while (j < m) out.push({ kind: 'added', text: y[j++]! })
  return out
}

/** How many lines were added and removed. */
export function diffStats(lines: readonly DiffLine[]): { added: number; removed: number } {
  let added = 0
  let removed = 0
  for (const l of lines) {
    if (l.kind === 'added') added++
    else if (l.kind === 'removed') removed++
  }
  return { added, removed }
}
