import { describe, expect, test } from 'vitest'
import { dashboardRows, signedPercent } from './rows'

describe('signedPercent', () => {
  test.each([
    [0.1234, '+12.34 %'],
    [-0.031, '−3.10 %'],
    [0, '0.00 %'],
    [0.00001, '0.00 %'],
    [null, '–'],
    [Number.NaN, '–'],
  ])('%s -> %s', (v, text) => expect(signedPercent(v)).toBe(text))
})

describe('dashboardRows', () => {
  test('status, return and link of each backtest', () => {
    const rows = dashboardRows({
      backtests: {
        totalCount: 2,
        edges: [
          { node: { id: 'QmFja3Rlc3Q6MQ==', status: 'SUCCEEDED', strategyName: 'SMA cross', symbol: 'DEMO/USDT', timeframe: '1h', createdAt: '2024-03-01T14:05:09Z', summary: { totalReturn: -0.05 } } },
          { node: { id: 'x', status: 'RUNNING', strategyName: 'RSI', symbol: 'BTC/USDT', timeframe: '4h', createdAt: '2024-03-02T00:00:00Z', summary: null } },
        ],
      },
      strategies: { totalCount: 1 },
    })
    expect(rows[0]).toMatchObject({ to: '/backtests/QmFja3Rlc3Q6MQ%3D%3D', status: 'Succeeded', tone: 'success', totalReturn: '−5.00 %', direction: 'down', market: 'DEMO/USDT · 1h', created: '2024-03-01 14:05 UTC' })
    expect(rows[1]).toMatchObject({ status: 'Running', tone: 'info', totalReturn: '–', direction: 'flat' })
  })
  test('no data, no rows', () => expect(dashboardRows(undefined)).toEqual([]))
})
