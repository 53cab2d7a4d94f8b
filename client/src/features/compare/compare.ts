// Backtests side by side: the metrics table with each row's best value (in the direction that
// is better for that metric), equity curves normalised to 100, and what differs between the
// runs (settings, parameters, strategy documents). Pure: unit-tested in compare.test.ts.
import type { BacktestSummaryFieldsFragment } from '@/graphql/generated/graphql'
import { days, money, num, pct, signedPct } from '@/features/backtests/format'
import type { SeriesColumns } from '@/components/charts/transforms'

/** How many backtests the Compare page takes at once (one chart colour and line style each). */
export const MAX_COMPARE = 5

export type Better = 'higher' | 'lower' | null

export interface CompareMetric {
  key: keyof BacktestSummaryFieldsFragment & string
  label: string
  format: (v: number | null | undefined) => string
  /** Which way is better; null: neither (trade count, exposure, the market's own return). */
  better: Better
}

const count = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : String(v))

export const COMPARE_METRICS: readonly CompareMetric[] = [
  { key: 'totalReturn', label: 'Total return', format: (v) => signedPct(v), better: 'higher' },
  { key: 'cagr', label: 'CAGR', format: (v) => signedPct(v), better: 'higher' },
  { key: 'netPnl', label: 'Net PnL', format: (v) => money(v), better: 'higher' },
  { key: 'finalEquity', label: 'Final equity', format: (v) => num(v), better: 'higher' },
  { key: 'maxDrawdown', label: 'Max drawdown', format: (v) => pct(v), better: 'lower' },
  { key: 'maxDrawdownDuration', label: 'Longest drawdown', format: (v) => days(v), better: 'lower' },
  { key: 'sharpe', label: 'Sharpe', format: (v) => num(v), better: 'higher' },
  { key: 'sortino', label: 'Sortino', format: (v) => num(v), better: 'higher' },
  { key: 'calmar', label: 'Calmar', format: (v) => num(v), better: 'higher' },
  { key: 'winRate', label: 'Win rate', format: (v) => pct(v, 1), better: 'higher' },
  { key: 'profitFactor', label: 'Profit factor', format: (v) => num(v), better: 'higher' },
  { key: 'expectancy', label: 'Expectancy', format: (v) => money(v), better: 'higher' },
  { key: 'avgWin', label: 'Average win', format: (v) => money(v), better: 'higher' },
  // a loss is negative: the smaller loss (the higher value) is better
  { key: 'avgLoss', label: 'Average loss', format: (v) => money(v), better: 'higher' },
  { key: 'bestTrade', label: 'Best trade', format: (v) => signedPct(v), better: 'higher' },
  { key: 'worstTrade', label: 'Worst trade', format: (v) => signedPct(v), better: 'higher' },
  { key: 'sqn', label: 'SQN', format: (v) => num(v), better: 'higher' },
  { key: 'nTrades', label: 'Trades', format: count, better: null },
  { key: 'exposure', label: 'Exposure', format: (v) => pct(v, 1), better: null },
  { key: 'buyAndHoldReturn', label: 'Buy & hold', format: (v) => signedPct(v), better: null },
]

/**
 * The indices of a row's best values: the highest (or lowest) of the finite ones, every run
 * that ties with it. None when the metric has no direction, when fewer than two runs have a
 * value, or when all of them are equal (nothing stands out).
 */
export function bestOf(values: readonly (number | null | undefined)[], better: Better): number[] {
  if (better === null) return []
  const finite = values.map((v, i) => [v, i] as const).filter((p): p is readonly [number, number] => typeof p[0] === 'number' && Number.isFinite(p[0]))
  if (finite.length < 2) return []
  const pickBest = better === 'higher' ? Math.max : Math.min
  const best = pickBest(...finite.map(([v]) => v))
  if (finite.every(([v]) => v === best)) return []
  return finite.filter(([v]) => v === best).map(([, i]) => i)
}

export interface MetricRow {
  metric: CompareMetric
  cells: { value: number | null; text: string; best: boolean }[]
}

/** The metrics table: a row per metric, a cell per run, the best ones marked. */
export function metricRows(summaries: readonly (BacktestSummaryFieldsFragment | null | undefined)[]): MetricRow[] {
  return COMPARE_METRICS.map((metric) => {
    const values = summaries.map((s) => {
      const v = s?.[metric.key]
      return typeof v === 'number' && Number.isFinite(v) ? v : null
    })
    const best = new Set(bestOf(values, metric.better))
    return { metric, cells: values.map((value, i) => ({ value, text: metric.format(value), best: best.has(i) })) }
  })
}

/** A curve rebased so that its first value is 100 (values before the first finite one, and
 * every value when that one is 0, stay null). */
export function normalise(s: SeriesColumns, base = 100): SeriesColumns {
  const first = s.values.find((v): v is number => typeof v === 'number' && Number.isFinite(v))
  if (first === undefined || first === 0) return { times: s.times, values: s.values.map(() => null) }
  return { times: s.times, values: s.values.map((v) => (typeof v === 'number' && Number.isFinite(v) ? (v / first) * base : null)) }
}

// -- differences --------------------------------------------------------------------------------

export type Flat = Record<string, string>

function show(v: unknown): string {
  if (v === null || v === undefined) return '–'
  if (typeof v === 'string') return v
  return JSON.stringify(v)
}

/** A JSON value flattened to dotted paths ("risk.stop_loss.value", "entry.all[0].op") and
 * their values as text; an empty object or array is a value of its own. */
export function flatten(v: unknown, prefix = '', out: Flat = {}): Flat {
  if (Array.isArray(v)) {
    if (v.length === 0 && prefix) out[prefix] = '[]'
    v.forEach((x, i) => flatten(x, `${prefix}[${i}]`, out))
  } else if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v as Record<string, unknown>)
    if (entries.length === 0 && prefix) out[prefix] = '{}'
    for (const [k, x] of entries) flatten(x, prefix ? `${prefix}.${k}` : k, out)
  } else if (prefix) {
    out[prefix] = show(v)
  }
  return out
}

export interface DiffRow {
  path: string
  /** The value in each run ('–' where the run has none). */
  values: string[]
}

/**
 * The paths whose values are not the same in every run (a path missing from some runs counts
 * as different), in the order they first appear; `same` counts the paths equal everywhere.
 */
export function differences(items: readonly Flat[]): { rows: DiffRow[]; same: number } {
  const paths: string[] = []
  const seen = new Set<string>()
  for (const f of items) {
    for (const p of Object.keys(f)) {
      if (!seen.has(p)) {
        seen.add(p)
        paths.push(p)
      }
    }
  }
  const rows: DiffRow[] = []
  let same = 0
  for (const path of paths) {
    const values = items.map((f) => f[path] ?? '–')
    if (values.every((v) => v === values[0]) && items.every((f) => path in f)) same++
    else rows.push({ path, values })
  }
  return { rows, same }
}

export interface SettingsSource {
  strategyName: string
  exchange: string
  symbol: string
  timeframe: string
  from: string
  to: string
  initialCapital: number
  riskFreeRate: number
  strategyId?: string | null
}

/** The run settings that can differ between backtests, as text by label. */
export function settingsOf(b: SettingsSource): Flat {
  return {
    Strategy: b.strategyName,
    Market: `${b.exchange} · ${b.symbol} ${b.timeframe}`,
    From: b.from.slice(0, 16).replace('T', ' '),
    To: b.to.slice(0, 16).replace('T', ' '),
    'Initial capital': num(b.initialCapital),
    'Risk-free rate': pct(b.riskFreeRate),
  }
}

/** The ids of a Compare link's query (`ids=a,b,c` or repeated `ids`), unique, in order. */
export function parseIds(v: string | null | (string | null)[] | undefined): string[] {
  const parts = (Array.isArray(v) ? v : [v]).flatMap((s) => (typeof s === 'string' ? s.split(',') : []))
  return [...new Set(parts.map((s) => s.trim()).filter(Boolean))]
}
