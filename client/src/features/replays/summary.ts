// The two accounts side by side: the account as it was (actual fills) and the replayed one.
import type { ReplaySummaryFieldsFragment, ReplayTotalsFieldsFragment } from '@/graphql/generated/graphql'
import { num, pct, signedPct } from '@/features/backtests/format'

export interface SummaryRow {
  key: string
  label: string
  actual: string
  replayed: string
  /** replayed − actual, formatted; '' when it means nothing. */
  change: string
  /** +1: the replay is better on this row, -1 worse, 0 equal or unknown. */
  better: -1 | 0 | 1
}

type Summary = ReplaySummaryFieldsFragment | null | undefined
type Totals = Pick<ReplayTotalsFieldsFragment, 'actualFees' | 'replayedFees' | 'actualNetPnl' | 'replayedNetPnl'> | null | undefined

function diff(a: number | null | undefined, b: number | null | undefined): number | null {
  return typeof a === 'number' && typeof b === 'number' && Number.isFinite(a) && Number.isFinite(b) ? b - a : null
}

function sign(d: number | null, higherIsBetter: boolean): -1 | 0 | 1 {
  if (d === null || Math.abs(d) < 1e-12) return 0
  return (d > 0) === higherIsBetter ? 1 : -1
}

export function summaryRows(actual: Summary, replayed: Summary, totals: Totals): SummaryRow[] {
  const money = (v: number | null | undefined): string => num(v)
  const signedMoney = (v: number | null): string => (v === null ? '' : `${v > 0 ? '+' : ''}${num(v)}`)
  const rows: [string, string, number | null | undefined, number | null | undefined, (v: number | null | undefined) => string, (d: number | null) => string, boolean][] = [
    ['finalEquity', 'Final equity', actual?.finalEquity, replayed?.finalEquity, money, signedMoney, true],
    ['netPnl', 'Net PnL', totals?.actualNetPnl ?? actual?.netPnl, totals?.replayedNetPnl ?? replayed?.netPnl, money, signedMoney, true],
    ['fees', 'Fees paid', totals?.actualFees, totals?.replayedFees, money, signedMoney, false],
    ['totalReturn', 'Return', actual?.totalReturn, replayed?.totalReturn, (v) => signedPct(v), (d) => (d === null ? '' : signedPct(d)), true],
    ['maxDrawdown', 'Max drawdown', actual?.maxDrawdown, replayed?.maxDrawdown, (v) => pct(v), (d) => (d === null ? '' : signedPct(d)), false],
    ['sharpe', 'Sharpe', actual?.sharpe, replayed?.sharpe, (v) => num(v), (d) => (d === null ? '' : signedMoney(d)), true],
    ['winRate', 'Win rate', actual?.winRate, replayed?.winRate, (v) => pct(v, 1), (d) => (d === null ? '' : signedPct(d, 1)), true],
    ['nTrades', 'Round trips', actual?.nTrades, replayed?.nTrades, (v) => (v === null || v === undefined ? '–' : String(v)), () => '', true],
  ]
  return rows.map(([key, label, a, r, f, fd, higher]) => {
    const d = diff(a, r)
    return { key, label, actual: f(a), replayed: f(r), change: fd(d), better: key === 'nTrades' ? 0 : sign(d, higher) }
  })
}
