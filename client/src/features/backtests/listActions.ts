// "Rerun with changes": a backtest's settings as the new-backtest form's query
// (/backtests/new?strategy=…&exchange=…&symbol=…&timeframe=…&from=…&to=…&capital=…&p.fast=10),
// and that query read back into what the form starts from. Pure.

export interface RerunSource {
  strategyId?: string | null
  exchange: string
  symbol: string
  timeframe: string
  /** ISO date-times: `from` inclusive, `to` exclusive. */
  from: string
  to: string
  initialCapital: number
  params?: unknown
}

export interface RerunPrefill {
  exchange: string | null
  symbol: string | null
  timeframe: string | null
  /** UTC days (YYYY-MM-DD), `to` exclusive as in the form. */
  from: string | null
  to: string | null
  capital: number | null
  params: Record<string, number>
}

const PARAM = 'p.'

/** A UTC day of an ISO date-time; a range end that is not midnight rounds up to the next day
 * (the form's `to` is an exclusive day). */
function utcDay(iso: string, roundUp: boolean): string | null {
  const t = new Date(iso)
  if (Number.isNaN(t.getTime())) return null
  const midnight = t.getUTCHours() === 0 && t.getUTCMinutes() === 0 && t.getUTCSeconds() === 0 && t.getUTCMilliseconds() === 0
  if (roundUp && !midnight) t.setUTCDate(t.getUTCDate() + 1)
  return t.toISOString().slice(0, 10)
}

/** The new-backtest route query that starts from this backtest. */
export function rerunQuery(b: RerunSource): Record<string, string> {
  const q: Record<string, string> = {}
  if (b.strategyId) q.strategy = b.strategyId
  q.exchange = b.exchange
  q.symbol = b.symbol
  q.timeframe = b.timeframe
  const from = utcDay(b.from, false)
  const to = utcDay(b.to, true)
  if (from) q.from = from
  if (to) q.to = to
  q.capital = String(b.initialCapital)
  if (b.params && typeof b.params === 'object' && !Array.isArray(b.params)) {
    for (const [k, v] of Object.entries(b.params as Record<string, unknown>)) {
      if (typeof v === 'number' && Number.isFinite(v)) q[PARAM + k] = String(v)
    }
  }
  return q
}

type QueryValue = string | null | (string | null)[] | undefined

function one(v: QueryValue): string | null {
  const s = Array.isArray(v) ? v[0] : v
  return typeof s === 'string' && s.trim() !== '' ? s.trim() : null
}

function day(v: QueryValue): string | null {
  const s = one(v)
  return s !== null && /^\d{4}-\d{2}-\d{2}$/.test(s) ? s : null
}

function number(v: QueryValue): number | null {
  const s = one(v)
  const n = s === null ? NaN : Number(s)
  return Number.isFinite(n) ? n : null
}

/** What the form starts from, read from its route query (null: nothing to prefill). */
export function parseRerun(query: Record<string, QueryValue>): RerunPrefill | null {
  const params: Record<string, number> = {}
  for (const [k, v] of Object.entries(query)) {
    const n = number(v)
    if (k.startsWith(PARAM) && k.length > PARAM.length && n !== null) params[k.slice(PARAM.length)] = n
  }
  const p: RerunPrefill = {
    exchange: one(query.exchange),
    symbol: one(query.symbol),
    timeframe: one(query.timeframe),
    from: day(query.from),
    to: day(query.to),
    capital: number(query.capital),
    params,
  }
  const any = p.exchange || p.symbol || p.timeframe || p.from || p.to || p.capital !== null || Object.keys(params).length
  return any ? p : null
}

/** The first of `options` that is `wanted`, else the first option ('' when none). */
export function pick(options: readonly string[], wanted: string | null | undefined): string {
  return wanted && options.includes(wanted) ? wanted : options[0] ?? ''
}
