// The equity sparkline of the dashboard's result cards: a small SVG path, no chart library.

/**
 * At most `max` points of `values`, keeping each bucket's lowest and highest in their order (so
 * that a drawdown or a spike survives), and always the first and the last value.
 */
export function downsample(values: readonly number[], max: number): number[] {
  const finite = values.filter((v) => Number.isFinite(v))
  if (finite.length <= max) return finite
  if (max < 4) return max >= 2 ? [finite[0]!, finite[finite.length - 1]!] : finite.slice(0, Math.max(0, max))
  const inner = finite.slice(1, -1)
  const buckets = Math.floor((max - 2) / 2)
  const size = inner.length / buckets
  const out: number[] = [finite[0]!]
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size)
    const to = Math.min(inner.length, Math.floor((b + 1) * size))
    if (to <= from) continue
    let lo = from
    let hi = from
    for (let i = from + 1; i < to; i++) {
      if (inner[i]! < inner[lo]!) lo = i
      if (inner[i]! > inner[hi]!) hi = i
    }
    if (lo === hi) out.push(inner[lo]!)
    else if (lo < hi) out.push(inner[lo]!, inner[hi]!)
    else out.push(inner[hi]!, inner[lo]!)
  }
  out.push(finite[finite.length - 1]!)
  return out
}

export interface Sparkline {
  /** The line, as an SVG path in a `width` × `height` box. */
  line: string
  /** The line closed down to the bottom edge, to fill under it. */
  area: string
  first: number
  last: number
  min: number
  max: number
}

const r = (v: number): string => (Math.round(v * 100) / 100).toString()

/**
 * The path of `values` across `width` × `height`, `pad` pixels inside the top and bottom edges
 * (the highest value at the top); a flat series is drawn across the middle. Null under 2 points.
 */
export function sparkline(values: readonly number[], width: number, height: number, pad = 2, maxPoints = 2 * Math.round(width)): Sparkline | null {
  const v = downsample(values, maxPoints)
  if (v.length < 2) return null
  let min = Infinity
  let max = -Infinity
  for (const x of v) {
    if (x < min) min = x
    if (x > max) max = x
  }
  const span = max - min
  const inner = height - 2 * pad
  const y = (x: number): number => (span === 0 ? height / 2 : pad + inner * (1 - (x - min) / span))
  const step = width / (v.length - 1)
  const points = v.map((x, i) => `${r(i * step)},${r(y(x))}`)
  const line = `M${points.join('L')}`
  const area = `${line}L${r(width)},${r(height)}L0,${r(height)}Z`
  return { line, area, first: v[0]!, last: v[v.length - 1]!, min, max }
}
