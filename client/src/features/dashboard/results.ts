// The dashboard's latest results: a card per succeeded backtest with its key metrics and its
// equity for the sparkline.
import type { DashboardResultsQuery } from '@/graphql/generated/graphql'
import { num, pct } from '@/features/backtests/format'
import { signedPercent, utcMinute } from './rows'

export interface ResultCard {
  id: string
  to: string
  title: string
  market: string
  finished: string
  totalReturn: string
  direction: 'up' | 'down' | 'flat'
  maxDrawdown: string
  sharpe: string
  trades: string
  winRate: string
  equity: readonly number[]
  /** "Equity from 10,000.00 to 12,345.67", for the sparkline's label. */
  equityLabel: string
}

export function resultCards(data: DashboardResultsQuery | undefined): ResultCard[] {
  return (data?.backtests.edges ?? []).map(({ node }) => {
    const s = node.summary
    const r = s?.totalReturn ?? null
    const text = signedPercent(r)
    const values = node.equityCurve?.values ?? []
    const first = values[0]
    const last = values[values.length - 1]
    return {
      id: node.id,
      to: `/backtests/${encodeURIComponent(node.id)}`,
      title: node.strategyName,
      market: `${node.symbol} · ${node.timeframe}`,
      finished: node.finishedAt ? utcMinute(node.finishedAt) : '–',
      totalReturn: text,
      direction: r === null || text === '0.00 %' ? 'flat' : r > 0 ? 'up' : 'down',
      maxDrawdown: pct(s?.maxDrawdown),
      sharpe: num(s?.sharpe),
      trades: s?.nTrades === null || s?.nTrades === undefined ? '–' : String(s.nTrades),
      winRate: pct(s?.winRate, 1),
      equity: values,
      equityLabel: first !== undefined && last !== undefined ? `Equity from ${num(first)} to ${num(last)}` : 'No equity curve',
    }
  })
}
