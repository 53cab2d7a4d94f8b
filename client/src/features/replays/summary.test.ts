import { describe, expect, test } from 'vitest'
import { summaryRows } from './summary'

const actual = { finalEquity: 10_100, totalReturn: 0.01, netPnl: 100, nTrades: 4, winRate: 0.5, maxDrawdown: 0.02, sharpe: 1.2, profitFactor: 1.5 }
const replayed = { ...actual, finalEquity: 10_050.5, totalReturn: 0.00505, netPnl: 50.5, maxDrawdown: 0.025, sharpe: 0.9 }

describe('summaryRows', () => {
  test('actual, replayed and the change, better or worse for the trader', () => {
    const rows = summaryRows(actual, replayed, { actualNetPnl: 100, replayedNetPnl: 50.5, actualFees: 4, replayedFees: 6 })
    const by = Object.fromEntries(rows.map((r) => [r.key, r]))
    expect(by.finalEquity).toMatchObject({ actual: '10,100.00', replayed: '10,050.50', change: '-49.50', better: -1 })
    expect(by.fees).toMatchObject({ actual: '4.00', replayed: '6.00', change: '+2.00', better: -1 })
    expect(by.maxDrawdown).toMatchObject({ change: '+0.50 %', better: -1 })
    expect(by.winRate).toMatchObject({ change: '0.0 %', better: 0 })
    expect(by.nTrades).toMatchObject({ actual: '4', replayed: '4', change: '', better: 0 })
  })

  test('before the results: dashes', () => {
    const rows = summaryRows(null, null, null)
    expect(rows.every((r) => r.change === '' && r.better === 0)).toBe(true)
    expect(rows[0]!.actual).toBe('–')
  })
})
