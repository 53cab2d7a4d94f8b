import { expect, test } from 'vitest'
import type { DashboardResultsQuery } from '@/graphql/generated/graphql'
import { resultCards } from './results'

type Node = DashboardResultsQuery['backtests']['edges'][number]['node']

function data(nodes: Node[]): DashboardResultsQuery {
  return { backtests: { totalCount: nodes.length, edges: nodes.map((node) => ({ node })) } }
}

const node: Node = {
  id: 'QmFja3Rlc3Q6Nw==',
  strategyName: 'SMA crossover',
  exchange: 'demo',
  symbol: 'DEMO/USDT',
  timeframe: '1h',
  finishedAt: '2025-03-01T14:05:09Z',
  summary: { totalReturn: 0.1234, maxDrawdown: 0.0876, sharpe: 1.234, nTrades: 42, winRate: 0.4567 },
  equityCurve: { times: [1, 2, 3], values: [10000, 9500, 11234] },
}

test('a card per backtest with its metrics formatted', () => {
  expect(resultCards(data([node]))).toEqual([
    {
      id: node.id,
      to: '/backtests/QmFja3Rlc3Q6Nw%3D%3D',
      title: 'SMA crossover',
      market: 'DEMO/USDT · 1h',
      finished: '2025-03-01 14:05 UTC',
      totalReturn: '+12.34 %',
      direction: 'up',
      maxDrawdown: '8.76 %',
      sharpe: '1.23',
      trades: '42',
      winRate: '45.7 %',
      equity: [10000, 9500, 11234],
      equityLabel: 'Equity from 10,000.00 to 11,234.00',
    },
  ])
})

test('losses point down; missing metrics and curves show a dash', () => {
  const [card] = resultCards(data([{ ...node, summary: { totalReturn: -0.05, maxDrawdown: null, sharpe: null, nTrades: 0, winRate: null }, equityCurve: null }]))
  expect(card).toMatchObject({ totalReturn: '−5.00 %', direction: 'down', maxDrawdown: '–', sharpe: '–', trades: '0', equity: [], equityLabel: 'No equity curve' })
  expect(resultCards(data([{ ...node, summary: null }]))[0]).toMatchObject({ totalReturn: '–', direction: 'flat', trades: '–' })
  expect(resultCards(undefined)).toEqual([])
})
