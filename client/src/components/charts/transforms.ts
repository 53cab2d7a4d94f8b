// Pure transforms from the API's columnar arrays to lightweight-charts data. No Vue, no DOM:
// unit-tested in transforms.test.ts. Times: the API sends UTC epoch milliseconds, the charts
// take UTC seconds (UTCTimestamp).
import type {
  CandlestickData,
  HistogramData,
  LineData,
  SeriesMarker,
  UTCTimestamp,
  WhitespaceData,
} from 'lightweight-charts'

export interface Columns {
  times: readonly number[]
  open: readonly number[]
  high: readonly number[]
  low: readonly number[]
  close: readonly number[]
  volume?: readonly number[]
}

export interface SeriesColumns {
  times: readonly number[]
  values: readonly (number | null)[]
}

type Bar = CandlestickData<UTCTimestamp> | WhitespaceData<UTCTimestamp>
type Point = LineData<UTCTimestamp> | WhitespaceData<UTCTimestamp>

/** UTC milliseconds (or an ISO date) to the chart's UTC seconds. */
export function toTime(t: number | string): UTCTimestamp {
  const ms = typeof t === 'number' ? t : Date.parse(t)
  return Math.floor(ms / 1000) as UTCTimestamp
}

function finite(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v)
}

/** Candles, oldest first; a bar with a missing price becomes whitespace ({time}). */
export function toBars(c: Columns): Bar[] {
  const n = c.times.length
  const out: Bar[] = new Array(n)
  for (let i = 0; i < n; i++) {
    const time = toTime(c.times[i]!)
    const o = c.open[i]
    const h = c.high[i]
    const l = c.low[i]
    const cl = c.close[i]
    out[i] = finite(o) && finite(h) && finite(l) && finite(cl) ? { time, open: o, high: h, low: l, close: cl } : { time }
  }
  return out
}

/** Volume bars coloured by the candle's direction (a close at or above the open is up). */
export function toVolume(c: Columns, up: string, down: string): HistogramData<UTCTimestamp>[] {
  const vol = c.volume ?? []
  const n = c.times.length
  const out: HistogramData<UTCTimestamp>[] = new Array(n)
  for (let i = 0; i < n; i++) {
    const v = vol[i]
    out[i] = { time: toTime(c.times[i]!), value: finite(v) ? v : 0, color: (c.close[i] ?? 0) >= (c.open[i] ?? 0) ? up : down }
  }
  return out
}

/** A line; nulls (indicator warm-up) become whitespace. */
export function toLine(s: SeriesColumns, scale: (v: number) => number = (v) => v): Point[] {
  const n = s.times.length
  const out: Point[] = new Array(n)
  for (let i = 0; i < n; i++) {
    const v = s.values[i]
    const time = toTime(s.times[i]!)
    out[i] = finite(v) ? { time, value: scale(v) } : { time }
  }
  return out
}

/** The underwater curve: drawdown (a positive fraction) drawn below zero, in percent. */
export function toUnderwater(s: SeriesColumns): Point[] {
  return toLine(s, (v) => -v * 100)
}

// -- trades ---------------------------------------------------------------------------------------

export interface MarkerTrade {
  seq: number
  entryTime: string
  exitTime: string
  side: 'LONG' | 'SHORT'
  pnl: number
  entryPrice?: number
  exitPrice?: number
}

export interface MarkerColors {
  long: string
  short: string
}

/**
 * Two markers per trade: the entry (an arrow, below the bar for a long, above for a short) and
 * the exit (a circle on the other side), coloured by side. Ids `e<seq>` and `x<seq>` let a hover
 * find the trade. Sorted by time, as the chart needs.
 */
export function tradeMarkers(trades: readonly MarkerTrade[], colors: MarkerColors): SeriesMarker<UTCTimestamp>[] {
  const out: SeriesMarker<UTCTimestamp>[] = []
  for (const t of trades) {
    const long = t.side === 'LONG'
    const color = long ? colors.long : colors.short
    out.push({
      id: `e${t.seq}`,
      time: toTime(t.entryTime),
      position: long ? 'belowBar' : 'aboveBar',
      shape: long ? 'arrowUp' : 'arrowDown',
      color,
      size: 1,
    })
    out.push({
      id: `x${t.seq}`,
      time: toTime(t.exitTime),
      position: long ? 'aboveBar' : 'belowBar',
      shape: 'circle',
      color,
      size: 0.8,
    })
  }
  out.sort((a, b) => a.time - b.time)
  return out
}

/** The trades that enter or exit at a chart time (for the hover tooltip). */
export function tradesAt<T extends MarkerTrade>(trades: readonly T[], time: number): T[] {
  return trades.filter((t) => toTime(t.entryTime) === time || toTime(t.exitTime) === time)
}

/** The visible range to show a trade: from a little before its entry to a little after its exit. */
export function tradeRange(t: MarkerTrade, barSeconds: number, pad = 30): { from: UTCTimestamp; to: UTCTimestamp } {
  return {
    from: (toTime(t.entryTime) - pad * barSeconds) as UTCTimestamp,
    to: (toTime(t.exitTime) + pad * barSeconds) as UTCTimestamp,
  }
}

/** A timeframe such as 1m, 4h, 1d, 1w, 1M in seconds (1M: 30 days). */
export function timeframeSeconds(tf: string): number {
  const m = /^(\d+)([smhdwM])$/.exec(tf)
  if (!m) return 3600
  const unit: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800, M: 2592000 }
  return Number(m[1]) * unit[m[2]!]!
}

// -- indicators -------------------------------------------------------------------------------------

/** Indicators drawn on the price scale; every other one gets a pane of its own. */
export const OVERLAY_INDICATORS = new Set(['sma', 'ema', 'wma', 'bbands', 'vwap', 'donchian'])

export interface IndicatorRequest {
  /** The alias asked for (unique): e.g. "sma(10)". */
  as: string
  name: string
  params: Record<string, number | string>
  overlay: boolean
}

const NON_PARAMS = new Set(['indicator', 'output', 'bars_ago'])

function resolve(v: unknown, params: Record<string, unknown>): unknown {
  if (typeof v === 'string' && v.startsWith('$')) {
    const p = params[v.slice(1)]
    return p === undefined ? v : p
  }
  return v
}

/**
 * The indicators a strategy document uses, each once (whatever output or bars_ago it reads),
 * with `$param` references resolved from the run's params: what to ask `candles` for and where
 * to draw each. Overlays first, then panes, in the order they appear.
 */
export function strategyIndicators(document: unknown, params: Record<string, unknown> = {}): IndicatorRequest[] {
  const seen = new Map<string, IndicatorRequest>()
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(walk)
      return
    }
    if (!node || typeof node !== 'object') return
    const obj = node as Record<string, unknown>
    if (typeof obj.indicator === 'string') {
      const name = obj.indicator
      const p: Record<string, number | string> = {}
      for (const key of Object.keys(obj).sort()) {
        if (NON_PARAMS.has(key)) continue
        const v = resolve(obj[key], params)
        if (typeof v === 'number' || typeof v === 'string') p[key] = v
      }
      const shown = Object.entries(p)
        .filter(([k, v]) => !(k === 'source' && v === 'close'))
        .map(([, v]) => String(v))
      const as = `${name}(${shown.join(',')})`
      if (!seen.has(as)) seen.set(as, { as, name, params: p, overlay: OVERLAY_INDICATORS.has(name) })
    }
    for (const [key, v] of Object.entries(obj)) {
      if (key !== 'parameters') walk(v)
    }
  }
  walk(document)
  const all = [...seen.values()]
  return [...all.filter((r) => r.overlay), ...all.filter((r) => !r.overlay)]
}

export interface IndicatorLine {
  /** "sma(10)" or "bbands(20,2) upper". */
  label: string
  /** 0: the price pane; 2, 3...: panes of their own (1 is volume). */
  pane: number
  data: Point[]
}

export interface IndicatorSeriesColumns {
  name: string
  indicator: string
  output: string
  values: readonly (number | null)[]
}

/** Lines for the indicator series `candles` returned: overlays on pane 0, the others one pane per indicator from 2. */
export function indicatorLines(times: readonly number[], series: readonly IndicatorSeriesColumns[]): IndicatorLine[] {
  const panes = new Map<string, number>()
  const out: IndicatorLine[] = []
  for (const s of series) {
    let pane = 0
    if (!OVERLAY_INDICATORS.has(s.indicator)) {
      if (!panes.has(s.name)) panes.set(s.name, 2 + panes.size)
      pane = panes.get(s.name)!
    }
    const single = s.output === 'value'
    out.push({ label: single ? s.name : `${s.name} ${s.output}`, pane, data: toLine({ times, values: s.values }) })
  }
  return out
}

// -- small charts ---------------------------------------------------------------------------------

export interface MonthCell {
  year: number
  month: number
  return: number | null
}

export interface HeatmapRow {
  year: number
  /** Index 0 = January; null: no bars that month. */
  months: (number | null)[]
  /** The year's return, when given. */
  total: number | null
}

/** Monthly returns as a year x month grid, oldest year first. */
export function monthGrid(months: readonly MonthCell[], years: readonly { year: number; return: number | null }[] = []): HeatmapRow[] {
  const rows = new Map<number, HeatmapRow>()
  const row = (year: number): HeatmapRow => {
    let r = rows.get(year)
    if (!r) {
      r = { year, months: new Array(12).fill(null), total: null }
      rows.set(year, r)
    }
    return r
  }
  for (const m of months) row(m.year).months[m.month - 1] = m.return
  for (const y of years) row(y.year).total = y.return
  return [...rows.values()].sort((a, b) => a.year - b.year)
}

/** A colour intensity 0..1 for a return, saturating at `cap` (default 10 %). */
export function heat(v: number, cap = 0.1): number {
  return Math.min(1, Math.abs(v) / cap)
}

export interface HistogramBar {
  label: string
  value: number
  /** The bin's midpoint sign: colours losses and gains. */
  sign: -1 | 0 | 1
}

/** A pnl histogram's bins as labelled bars ("-120 to -80"). */
export function histogramBars(edges: readonly number[], counts: readonly number[], fmt: (v: number) => string = (v) => v.toFixed(0)): HistogramBar[] {
  return counts.map((value, i) => {
    const lo = edges[i]!
    const hi = edges[i + 1]!
    const mid = (lo + hi) / 2
    return { label: `${fmt(lo)} to ${fmt(hi)}`, value, sign: mid > 0 ? 1 : mid < 0 ? -1 : 0 }
  })
}
