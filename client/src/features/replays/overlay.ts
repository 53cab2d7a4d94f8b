// Actual against replayed equity, for the overlay chart: two lines on one time scale, and the
// figures its legend and the test hook show (last values and the gap between them).
import type { UTCTimestamp } from 'lightweight-charts'
import { toLine, type SeriesColumns } from '@/components/charts/transforms'

type Point = ReturnType<typeof toLine>[number]

export interface Overlay {
  actual: Point[]
  replayed: Point[]
  actualLast: number | null
  replayedLast: number | null
  /** replayedLast − actualLast. */
  gap: number | null
  /** Every time either line has a point (UTC seconds, sorted). */
  span: { from: UTCTimestamp; to: UTCTimestamp } | null
}

function last(s: SeriesColumns | null | undefined): number | null {
  if (!s) return null
  for (let i = s.values.length - 1; i >= 0; i--) {
    const v = s.values[i]
    if (typeof v === 'number' && Number.isFinite(v)) return v
  }
  return null
}

export function overlaySeries(actual: SeriesColumns | null | undefined, replayed: SeriesColumns | null | undefined): Overlay {
  const a = actual ? toLine(actual) : []
  const r = replayed ? toLine(replayed) : []
  const actualLast = last(actual)
  const replayedLast = last(replayed)
  const times = [a[0]?.time, a.at(-1)?.time, r[0]?.time, r.at(-1)?.time].filter((t): t is UTCTimestamp => t !== undefined)
  return {
    actual: a,
    replayed: r,
    actualLast,
    replayedLast,
    gap: actualLast !== null && replayedLast !== null ? replayedLast - actualLast : null,
    span: times.length ? { from: Math.min(...times) as UTCTimestamp, to: Math.max(...times) as UTCTimestamp } : null,
  }
}
