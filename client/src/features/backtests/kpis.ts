import type { BacktestSummaryFieldsFragment } from '@/graphql/generated/graphql'
import { num, pct, signedPct } from './format'

export interface Kpi {
  label: string
  value: string
  /** Colour: good (1), bad (-1), neutral (0). */
  sign: -1 | 0 | 1
}

function sign(v: number | null | undefined): -1 | 0 | 1 {
  return v === null || v === undefined || v === 0 ? 0 : v > 0 ? 1 : -1
}

/** The headline metrics of a run, formatted. */
export function kpis(s: BacktestSummaryFieldsFragment): Kpi[] {
  return [
    { label: 'Total return', value: signedPct(s.totalReturn), sign: sign(s.totalReturn) },
    { label: 'CAGR', value: signedPct(s.cagr), sign: sign(s.cagr) },
    { label: 'Max drawdown', value: pct(s.maxDrawdown), sign: s.maxDrawdown ? -1 : 0 },
    { label: 'Sharpe', value: num(s.sharpe), sign: 0 },
    { label: 'Sortino', value: num(s.sortino), sign: 0 },
    { label: 'Win rate', value: pct(s.winRate, 1), sign: 0 },
    { label: 'Profit factor', value: num(s.profitFactor), sign: 0 },
    { label: 'Trades', value: s.nTrades === null || s.nTrades === undefined ? '–' : String(s.nTrades), sign: 0 },
    { label: 'Exposure', value: pct(s.exposure, 1), sign: 0 },
    { label: 'Buy & hold', value: signedPct(s.buyAndHoldReturn), sign: sign(s.buyAndHoldReturn) },
  ]
}
