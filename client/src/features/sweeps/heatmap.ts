// A sweep's rows as a heatmap: one metric over two parameters, the other swept parameters fixed
// at chosen values or reduced (best, median or mean of the sets that share the two); its colour
// scale; and the helpers that compare parameter sets (to find a set's backtest).
import { num, pct } from '@/features/backtests/format'

export type MetricKey =
  | 'totalReturn'
  | 'sharpe'
  | 'sortino'
  | 'calmar'
  | 'cagr'
  | 'maxDrawdown'
  | 'winRate'
  | 'profitFactor'
  | 'nTrades'
  | 'netPnl'
  | 'expectancy'
  | 'exposure'
  | 'sqn'

export interface MetricInfo {
  key: MetricKey
  label: string
  /** The API's Metric the sweep may be ranked by. */
  api: string
  format: (v: number | null | undefined) => string
  /** Smaller is better (drawdowns), as the API ranks them. */
  lowerIsBetter?: boolean
}

export const METRICS: readonly MetricInfo[] = [
  { key: 'sharpe', label: 'Sharpe', api: 'SHARPE', format: (v) => num(v) },
  { key: 'totalReturn', label: 'Total return', api: 'TOTAL_RETURN', format: (v) => pct(v) },
  { key: 'maxDrawdown', label: 'Max drawdown', api: 'MAX_DRAWDOWN', format: (v) => pct(v), lowerIsBetter: true },
  { key: 'sortino', label: 'Sortino', api: 'SORTINO', format: (v) => num(v) },
  { key: 'calmar', label: 'Calmar', api: 'CALMAR', format: (v) => num(v) },
  { key: 'cagr', label: 'CAGR', api: 'CAGR', format: (v) => pct(v) },
  { key: 'winRate', label: 'Win rate', api: 'WIN_RATE', format: (v) => pct(v) },
  { key: 'profitFactor', label: 'Profit factor', api: 'PROFIT_FACTOR', format: (v) => num(v) },
  { key: 'nTrades', label: 'Trades', api: 'N_TRADES', format: (v) => num(v, 0) },
  { key: 'netPnl', label: 'Net PnL', api: 'NET_PNL', format: (v) => num(v) },
  { key: 'expectancy', label: 'Expectancy', api: 'EXPECTANCY', format: (v) => num(v) },
  { key: 'exposure', label: 'Exposure', api: 'EXPOSURE', format: (v) => pct(v) },
  { key: 'sqn', label: 'SQN', api: 'SQN', format: (v) => num(v) },
]

export function metricInfo(key: MetricKey): MetricInfo {
  return METRICS.find((m) => m.key === key) ?? METRICS[0]!
}

/** The metric of the API's Metric name (SHARPE -> sharpe), when the page shows it. */
export function metricOfApi(api: string): MetricInfo | null {
  return METRICS.find((m) => m.api === api) ?? null
}

export interface SweepRowLike {
  rank: number
  params: Readonly<Record<string, number>>
  metrics: Readonly<Partial<Record<MetricKey, number | null>>>
}

export type Reduction = 'fixed' | 'best' | 'median' | 'mean'

export interface HeatmapOptions {
  x: string
  y: string
  metric: MetricKey
  reduction: Reduction
  /** With 'fixed': the value of each other swept parameter. */
  fixed?: Readonly<Record<string, number>>
}

export interface HeatCell {
  x: number
  y: number
  /** The metric, reduced; null when no stored set has it. */
  value: number | null
  /** Stored sets behind the cell. */
  count: number
  /** The set a click runs: the cell's only set ('fixed') or its best one. */
  row: SweepRowLike | null
}

export interface Heatmap {
  xs: number[]
  ys: number[]
  /** cells[yi][xi] */
  cells: HeatCell[][]
  min: number | null
  max: number | null
}

/** The parameters whose value differs between rows (the swept ones), in the rows' key order. */
export function sweptParams(rows: readonly SweepRowLike[]): string[] {
  const first = rows[0]
  if (!first) return []
  return Object.keys(first.params).filter((k) => rows.some((r) => r.params[k] !== first.params[k]))
}

/** The distinct values of a parameter among the rows, ascending. */
export function paramValues(rows: readonly SweepRowLike[], name: string): number[] {
  return [...new Set(rows.map((r) => r.params[name]).filter((v): v is number => typeof v === 'number'))].sort((a, b) => a - b)
}

/** Whether `a` is better than `b` for the metric (null is worst). */
export function better(a: number | null | undefined, b: number | null | undefined, lowerIsBetter = false): boolean {
  if (a === null || a === undefined || !Number.isFinite(a)) return false
  if (b === null || b === undefined || !Number.isFinite(b)) return true
  return lowerIsBetter ? a < b : a > b
}

export function median(values: readonly number[]): number | null {
  if (!values.length) return null
  const s = [...values].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export function mean(values: readonly number[]): number | null {
  return values.length ? values.reduce((t, v) => t + v, 0) / values.length : null
}

/** The heatmap of `metric` over x and y (see HeatmapOptions). */
export function buildHeatmap(rows: readonly SweepRowLike[], o: HeatmapOptions): Heatmap {
  const info = metricInfo(o.metric)
  const others = sweptParams(rows).filter((k) => k !== o.x && k !== o.y)
  const kept = o.reduction === 'fixed'
    ? rows.filter((r) => others.every((k) => o.fixed?.[k] === undefined || r.params[k] === o.fixed[k]))
    : rows
  const xs = paramValues(rows, o.x)
  const ys = paramValues(rows, o.y)
  const groups = new Map<string, SweepRowLike[]>()
  for (const r of kept) {
    const key = `${r.params[o.x]}|${r.params[o.y]}`
    const g = groups.get(key)
    if (g) g.push(r)
    else groups.set(key, [r])
  }
  let min: number | null = null
  let max: number | null = null
  const cells = ys.map((y) =>
    xs.map((x): HeatCell => {
      const group = groups.get(`${x}|${y}`) ?? []
      let best: SweepRowLike | null = null
      const values: number[] = []
      for (const r of group) {
        const v = r.metrics[o.metric]
        if (typeof v === 'number' && Number.isFinite(v)) values.push(v)
        if (!best || better(v, best.metrics[o.metric], info.lowerIsBetter)) best = r
      }
      let value: number | null
      switch (o.reduction) {
        case 'fixed':
        case 'best':
          value = best?.metrics[o.metric] ?? null
          break
        case 'median':
          value = median(values)
          break
        case 'mean':
          value = mean(values)
          break
        default: {
          const never: never = o.reduction
          value = never
        }
      }
      if (value !== null && Number.isFinite(value)) {
        min = min === null ? value : Math.min(min, value)
        max = max === null ? value : Math.max(max, value)
      } else value = null
      return { x, y, value, count: group.length, row: best }
    }),
  )
  return { xs, ys, cells, min, max }
}

export interface HeatTone {
  /** The CSS variable of the colour: --up, --down or --chart-1. */
  color: '--up' | '--down' | '--chart-1'
  /** 0..1 */
  strength: number
}

/**
 * The colour of a value: a diverging scale around 0 (up colour above, down colour below) when
 * the values have both signs, else one colour from the worst value (faint) to the best (strong).
 */
export function heatTone(v: number | null, min: number | null, max: number | null, lowerIsBetter = false): HeatTone | null {
  if (v === null || min === null || max === null) return null
  if (min < 0 && max > 0) {
    const m = Math.max(-min, max)
    const good = lowerIsBetter ? v < 0 : v > 0
    return { color: good ? '--up' : '--down', strength: Math.abs(v) / m }
  }
  if (max === min) return { color: '--chart-1', strength: 1 }
  const t = (v - min) / (max - min)
  return { color: '--chart-1', strength: lowerIsBetter ? 1 - t : t }
}

/** A CSS background for a tone: the colour mixed at 8 to 48 % (text stays readable on it). */
export function toneBackground(t: HeatTone | null): string | undefined {
  if (!t) return undefined
  return `color-mix(in srgb, var(${t.color}) ${Math.round(8 + Math.max(0, Math.min(1, t.strength)) * 40)}%, transparent)`
}

/** A parameter value as the page writes it. */
export function paramText(v: number | undefined): string {
  if (v === undefined) return '–'
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(12)))
}

/** "fast 10, slow 50" */
export function paramsText(params: Readonly<Record<string, number>>): string {
  return Object.entries(params).map(([k, v]) => `${k} ${paramText(v)}`).join(', ')
}

/** The parameters of a row (JSON from the API) as numbers. */
export function numericParams(params: unknown): Record<string, number> {
  const out: Record<string, number> = {}
  if (params && typeof params === 'object') {
    for (const [k, v] of Object.entries(params as Record<string, unknown>)) {
      if (typeof v === 'number') out[k] = v
    }
  }
  return out
}

/** The same parameter set (every name, every value within 1e-9 relative). */
export function sameParams(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean {
  const ka = Object.keys(a)
  if (ka.length !== Object.keys(b).length) return false
  return ka.every((k) => {
    const x = a[k]
    const y = b[k]
    return x !== undefined && y !== undefined && Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y))
  })
}

/** A stable key of a parameter set (names sorted). */
export function paramsKey(params: Readonly<Record<string, number>>): string {
  return Object.keys(params)
    .sort()
    .map((k) => `${k}=${Number(params[k]!.toPrecision(12))}`)
    .join('&')
}
