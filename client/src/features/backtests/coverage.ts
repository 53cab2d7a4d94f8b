// The coverage bar's geometry: the stored range as 0..1 with its gaps.
export interface Gap {
  first: string
  last: string
  bars: number
}

export interface CoverageSegment {
  /** 0..1 from the first stored bar. */
  start: number
  width: number
  label: string
}

export function gapSegments(first: string, last: string, missing: readonly Gap[]): CoverageSegment[] {
  const a = Date.parse(first)
  const b = Date.parse(last)
  const span = b - a
  if (!(span > 0)) return []
  return missing.map((g) => {
    const s = (Date.parse(g.first) - a) / span
    const e = (Date.parse(g.last) - a) / span
    return {
      start: Math.max(0, Math.min(1, s)),
      // at least a visible sliver
      width: Math.max(0.004, Math.min(1, e) - Math.max(0, s)),
      label: `${g.bars} missing bars from ${g.first.slice(0, 16).replace('T', ' ')} to ${g.last.slice(0, 16).replace('T', ' ')}`,
    }
  })
}

/** The selected range within the stored one, as 0..1 (clamped). */
export function selection(first: string, last: string, from: string, to: string): { start: number; width: number } | null {
  const a = Date.parse(first)
  const b = Date.parse(last)
  const f = Date.parse(from)
  const t = Date.parse(to)
  if (!(b > a) || Number.isNaN(f) || Number.isNaN(t) || t <= f) return null
  const s = Math.max(0, Math.min(1, (f - a) / (b - a)))
  const e = Math.max(0, Math.min(1, (t - a) / (b - a)))
  return { start: s, width: Math.max(0, e - s) }
}

/** The ISO date (YYYY-MM-DD, UTC) of a time, and the next day's (an exclusive end). */
export function isoDay(iso: string, plusDays = 0): string {
  const d = new Date(Date.parse(iso) + plusDays * 86_400_000)
  return d.toISOString().slice(0, 10)
}

/** The API's problem paths to the form's fields. */
export function fieldOf(path: string): string {
  const p = path.replace(/^input\./, '')
  if (p.startsWith('params.')) return `param:${p.slice('params.'.length).split('.')[0]}`
  if (p === 'params') return 'params'
  return p.split('.')[0] ?? 'form'
}
