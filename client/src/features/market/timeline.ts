// The coverage timeline's geometry: a series' stored range (first..last open time) as a bar, its
// gaps cut out where they fall, as fractions 0..1 of an axis: the series' own range, or one
// shared by several series. Pure: unit-tested in timeline.test.ts.

export interface StoredRange {
  first: string
  last: string
}

export interface GapRange {
  first: string
  last: string
  bars: number
}

export interface Axis {
  /** UTC milliseconds of the axis' ends. */
  start: number
  end: number
}

export interface Span {
  /** 0..1 along the axis. */
  left: number
  width: number
}

export interface GapSpan extends Span {
  label: string
}

/** The narrowest span drawn (a 1-bar gap in a year of data must still show). */
export const MIN_WIDTH = 0.004

/** The axis of one series: its own stored range (null when its times cannot be read). */
export function ownAxis(r: StoredRange): Axis | null {
  return sharedAxis([r])
}

/** One axis from the earliest first to the latest last of `ranges` (null when there are none). */
export function sharedAxis(ranges: readonly StoredRange[]): Axis | null {
  let start = Infinity
  let end = -Infinity
  for (const r of ranges) {
    const a = Date.parse(r.first)
    const b = Date.parse(r.last)
    if (Number.isNaN(a) || Number.isNaN(b)) continue
    start = Math.min(start, a)
    end = Math.max(end, b)
  }
  return Number.isFinite(start) && Number.isFinite(end) ? { start, end } : null
}

function fraction(axis: Axis, ms: number): number {
  const span = axis.end - axis.start
  if (!(span > 0)) return 0
  return Math.max(0, Math.min(1, (ms - axis.start) / span))
}

/** Where a time range sits on the axis (a range of one instant, or a one-instant axis, still shows). */
export function spanOf(axis: Axis, first: string, last: string): Span {
  if (!(axis.end > axis.start)) return { left: 0, width: 1 }
  const l = fraction(axis, Date.parse(first))
  const r = fraction(axis, Date.parse(last))
  const width = Math.max(MIN_WIDTH, r - l)
  return { left: Math.min(l, 1 - width), width }
}

/** "2024-01-01 00:05" (UTC, minutes). */
export function shortTime(iso: string): string {
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(0, 16).replace('T', ' ')
}

/** The gaps of a series on the axis, each labelled for its text alternative. */
export function gapSpans(axis: Axis, gaps: readonly GapRange[]): GapSpan[] {
  return gaps.map((g) => ({
    ...spanOf(axis, g.first, g.last),
    label: `${g.bars.toLocaleString('en-US')} missing ${g.bars === 1 ? 'bar' : 'bars'} from ${shortTime(g.first)} to ${shortTime(g.last)}`,
  }))
}

/** The text alternative of one series' timeline. */
export function timelineLabel(
  s: { symbol: string; timeframe: string; exchange: string; count: number; first: string; last: string; missingBars: number },
  gapCount: number | null,
): string {
  const stored = `${s.symbol} ${s.timeframe} on ${s.exchange}: ${s.count.toLocaleString('en-US')} candles from ${shortTime(s.first)} to ${shortTime(s.last)}`
  if (s.missingBars === 0) return `${stored}, no gaps`
  const gaps = gapCount === null ? 'gaps' : `${gapCount} ${gapCount === 1 ? 'gap' : 'gaps'}`
  return `${stored}, ${gaps} (${s.missingBars.toLocaleString('en-US')} missing bars)`
}
