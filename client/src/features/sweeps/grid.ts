// A sweep's grid as the start form builds it: each declared parameter either fixed at one value
// or swept over a range (start, start + step, ... <= stop) or a list of values; the number of
// parameter sets it makes (the product of each parameter's count, as the API counts them:
// domain.strategy.params.grid_size) and an estimate of the time it takes.

export interface ParamDecl {
  name: string
  value: number
  integer: boolean
  range?: { start: number; stop: number; step: number } | null
  values?: readonly number[] | null
}

export type AxisMode = 'fixed' | 'range' | 'list'

/** One parameter's row of the form: what the inputs hold (a number input may give a number). */
export interface AxisSpec {
  mode: AxisMode
  value: string | number
  start: string | number
  stop: string | number
  step: string | number
  list: string
}

export type GridAxis = number[] | { start: number; stop: number; step: number }

export interface GridPlan {
  /** What runSweep's `grid` gets: every parameter, a fixed one as a one-value list. */
  grid: Record<string, GridAxis>
  /** How many values each parameter takes (0 for a parameter whose row has an error). */
  counts: Record<string, number>
  /** The parameter sets: the product of the counts (0 while a row has an error). */
  sets: number
  /** Problems by parameter name, in the form's words. */
  errors: Record<string, string>
}

/** The API's count of `start, start + step, ... <= stop` (a last value within 1e-9 steps counts). */
export function rangeCount(start: number, stop: number, step: number): number {
  return Math.floor((stop - start) / step + 1e-9) + 1
}

/** The API's values of a range: integers stay integers, others are rounded to 12 decimals. */
export function rangeValues(start: number, stop: number, step: number): number[] {
  const n = rangeCount(start, stop, step)
  const ints = Number.isInteger(start) && Number.isInteger(step)
  return Array.from({ length: n }, (_, k) => (ints ? start + k * step : Number((start + k * step).toFixed(12))))
}

/** The form's row for a parameter: its declared range or values, else fixed at its value. */
export function defaultSpec(p: ParamDecl): AxisSpec {
  const spec: AxisSpec = { mode: 'fixed', value: String(p.value), start: '', stop: '', step: '', list: '' }
  if (p.range) return { ...spec, mode: 'range', start: String(p.range.start), stop: String(p.range.stop), step: String(p.range.step) }
  if (p.values?.length) return { ...spec, mode: 'list', list: p.values.join(', ') }
  return spec
}

function number(input: string | number): number | null {
  const text = String(input).trim()
  if (text === '') return null
  const v = Number(text)
  return Number.isFinite(v) ? v : null
}

/** A list typed by a person: numbers separated by commas or spaces. */
export function parseList(text: string): number[] | string {
  const parts = text.split(/[,\s;]+/).filter((s) => s !== '')
  if (!parts.length) return 'Enter at least one value.'
  const out: number[] = []
  for (const s of parts) {
    const v = number(s)
    if (v === null) return `"${s}" is not a number.`
    out.push(v)
  }
  return out
}

/** One parameter's axis (for the API) and its values, or what is wrong with the row. */
export function axisOf(p: ParamDecl, spec: AxisSpec): { axis: GridAxis; values: number[] } | { error: string } {
  let axis: GridAxis
  let values: number[]
  if (spec.mode === 'fixed') {
    const v = number(spec.value)
    if (v === null) return { error: 'Enter a number.' }
    axis = [v]
    values = [v]
  } else if (spec.mode === 'list') {
    const list = parseList(spec.list)
    if (typeof list === 'string') return { error: list }
    values = [...new Set(list)]
    axis = values
  } else {
    const [start, stop, step] = [number(spec.start), number(spec.stop), number(spec.step)]
    if (start === null || stop === null || step === null) return { error: 'Enter a start, a stop and a step.' }
    if (step <= 0) return { error: 'The step must be more than 0.' }
    if (start > stop) return { error: 'The start must not be after the stop.' }
    if (rangeCount(start, stop, step) > 1_000_000) return { error: 'More than 1,000,000 values: use a larger step.' }
    axis = { start, stop, step }
    values = rangeValues(start, stop, step)
  }
  if (p.integer && values.some((v) => !Number.isInteger(v))) return { error: `${p.name} is a whole number (a period): use whole values.` }
  return { axis, values }
}

/** The whole grid of the form: what to send, the counts and the number of sets. */
export function planGrid(params: readonly ParamDecl[], specs: Readonly<Record<string, AxisSpec>>): GridPlan {
  const plan: GridPlan = { grid: {}, counts: {}, sets: 1, errors: {} }
  for (const p of params) {
    const a = axisOf(p, specs[p.name] ?? defaultSpec(p))
    if ('error' in a) {
      plan.errors[p.name] = a.error
      plan.counts[p.name] = 0
      continue
    }
    plan.grid[p.name] = a.axis
    plan.counts[p.name] = a.values.length
  }
  plan.sets = countSets(Object.values(plan.counts))
  return plan
}

/** The product of the counts (1 for no parameter: the strategy as it is). */
export function countSets(counts: readonly number[]): number {
  return counts.reduce((n, c) => n * c, 1)
}

const MINUTE = 60_000
const TIMEFRAME_MS: Record<string, number> = {
  '1m': MINUTE, '3m': 3 * MINUTE, '5m': 5 * MINUTE, '15m': 15 * MINUTE, '30m': 30 * MINUTE,
  '1h': 60 * MINUTE, '2h': 120 * MINUTE, '4h': 240 * MINUTE, '6h': 360 * MINUTE, '8h': 480 * MINUTE,
  '12h': 720 * MINUTE, '1d': 1440 * MINUTE, '3d': 3 * 1440 * MINUTE, '1w': 7 * 1440 * MINUTE,
  // nominal, as the API's domain.timeframes: good for rough arithmetic only
  '1M': 30 * 1440 * MINUTE,
}

/** A timeframe's length in milliseconds (null for a name the API does not know). */
export function timeframeMs(timeframe: string): number | null {
  return TIMEFRAME_MS[timeframe] ?? null
}

/** Bars of `timeframe` in [from, to), within the stored [first, last] when given. */
export function barsInRange(from: string, to: string, timeframe: string, stored?: { first: string; last: string } | null): number {
  const tf = timeframeMs(timeframe)
  let a = Date.parse(from)
  let b = Date.parse(to)
  if (tf === null || Number.isNaN(a) || Number.isNaN(b)) return 0
  if (stored) {
    a = Math.max(a, Date.parse(stored.first))
    b = Math.min(b, Date.parse(stored.last) + tf)
  }
  return b > a ? Math.ceil((b - a) / tf) : 0
}

/**
 * The estimate's model (README "Performance": bench/workers.py ran 10,000 sets on 50,000 bars in
 * 2.8-3.1 s on the 2-CPU reference VM, about 6 ns per bar and set; bench/engine.py's 100 sets on
 * 100,000 bars took 23-31 ms, about 3 ns): 6 ns per bar and set, plus about 1 s to load the
 * candles, start and save. The time waiting behind other jobs is not in it.
 */
export const NS_PER_BAR_SET = 6
export const OVERHEAD_SECONDS = 1

/** Estimated seconds for `sets` parameter sets on `bars` bars (see NS_PER_BAR_SET). */
export function estimateSeconds(bars: number, sets: number): number {
  if (bars <= 0 || sets <= 0) return 0
  return OVERHEAD_SECONDS + (bars * sets * NS_PER_BAR_SET) / 1e9
}
