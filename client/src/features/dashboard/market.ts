// Stored market data at a glance: each series' coverage (stored bars against the bars its
// range should hold).
import type { DashboardMarketQuery } from '@/graphql/generated/graphql'

type Series = DashboardMarketQuery['symbols']['edges'][number]['node']

/** count / (count + missing), 0 to 1 (1 for a series without gaps; 0 when empty). */
export function coverageRatio(count: number, missingBars: number): number {
  const all = count + Math.max(0, missingBars)
  return all > 0 ? count / all : 0
}

/** "99.8 %", never "100 %" while a bar is missing (nor "0 %" while one is stored). */
export function coverageText(ratio: number): string {
  if (ratio >= 1) return '100 %'
  if (ratio <= 0) return '0 %'
  const text = (Math.round(ratio * 1000) / 10).toFixed(1)
  if (text === '100.0') return '99.9 %'
  if (text === '0.0') return '0.1 %'
  return `${text} %`
}

export interface MarketRow {
  key: string
  exchange: string
  symbol: string
  timeframe: string
  candles: string
  range: string
  ratio: number
  coverage: string
  gaps: string
}

export function marketRows(data: DashboardMarketQuery | undefined): MarketRow[] {
  return (data?.symbols.edges ?? []).map(({ node }: { node: Series }) => {
    const ratio = coverageRatio(node.count, node.missingBars)
    return {
      key: `${node.exchange}/${node.symbol}/${node.timeframe}`,
      exchange: node.exchange,
      symbol: node.symbol,
      timeframe: node.timeframe,
      candles: node.count.toLocaleString('en-US'),
      range: `${node.first.slice(0, 10)} → ${node.last.slice(0, 10)}`,
      ratio,
      coverage: coverageText(ratio),
      gaps: node.missingBars === 0 ? 'No gaps' : `${node.missingBars.toLocaleString('en-US')} missing ${node.missingBars === 1 ? 'bar' : 'bars'}`,
    }
  })
}
