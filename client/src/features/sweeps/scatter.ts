// The scatter of a sweep's sets: total return against max drawdown, on "nice" axes.
import type { SweepRowLike } from './heatmap'

export interface ScatterPoint {
  row: SweepRowLike
  /** Max drawdown (a positive fraction). */
  x: number
  /** Total return (a fraction). */
  y: number
}

/** The sets that have both metrics, ordered by drawdown then return (the keyboard's order). */
export function scatterPoints(rows: readonly SweepRowLike[]): ScatterPoint[] {
  const out: ScatterPoint[] = []
  for (const row of rows) {
    const x = row.metrics.maxDrawdown
    const y = row.metrics.totalReturn
    if (typeof x === 'number' && typeof y === 'number' && Number.isFinite(x) && Number.isFinite(y)) out.push({ row, x, y })
  }
  return out.sort((a, b) => a.x - b.x || a.y - b.y)
}

/** Round tick values covering [min, max] (about `count` of them): steps of 1, 2 or 5 × 10^k. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return []
  if (max === min) {
    const pad = Math.abs(min) > 0 ? Math.abs(min) * 0.1 : 0.01
    return niceTicks(min - pad, max + pad, count)
  }
  const raw = (max - min) / Math.max(1, count)
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag
  // k × step (not a running sum: no drift, so 0 is exactly 0, never -0 or -1e-17)
  const at = (k: number): number => Number((k * step).toPrecision(12)) || 0
  const out: number[] = []
  for (let k = Math.floor(min / step + 1e-9); ; k++) {
    out.push(at(k))
    if (at(k) >= max - step * 1e-9) break
  }
  return out
}
