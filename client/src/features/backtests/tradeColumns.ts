// A backtest's trades sent as columns (Backtest.tradeColumns: one request however many trades)
// turned back into the rows the chart markers, the exports and the tables use.
import type { BacktestTradeColumnsQuery, BacktestTradeFieldsFragment } from '@/graphql/generated/graphql'

export type TradeColumns = NonNullable<BacktestTradeColumnsQuery['backtest']['tradeColumns']>

/** UTC epoch milliseconds as the API writes a DateTime (Python's isoformat: seconds, or
 * microseconds when there is a fraction, and `+00:00`), so rows built here equal the API's. */
export function isoUtc(ms: number): string {
  const whole = Math.floor(ms / 1000) * 1000
  const base = new Date(whole).toISOString().slice(0, 19)
  const frac = Math.round(ms - whole)
  return `${base}${frac ? `.${String(frac).padStart(3, '0')}000` : ''}+00:00`
}

/** The trades as rows, in trade order (seq = index). */
export function rowsFromColumns(c: TradeColumns): BacktestTradeFieldsFragment[] {
  const rows: BacktestTradeFieldsFragment[] = new Array(c.count)
  for (let i = 0; i < c.count; i++) {
    const direction = c.directions[i]!
    rows[i] = {
      seq: i,
      entryTime: isoUtc(c.entryTimes[i]!),
      exitTime: isoUtc(c.exitTimes[i]!),
      entryPrice: c.entryPrices[i]!,
      exitPrice: c.exitPrices[i]!,
      quantity: c.quantities[i]!,
      direction,
      side: direction > 0 ? 'LONG' : 'SHORT',
      grossPnl: c.grossPnl[i]!,
      fees: c.fees[i]!,
      pnl: c.pnl[i]!,
      return: c.returns[i]!,
      exitReason: c.exitReasons[i]!,
    }
  }
  return rows
}
