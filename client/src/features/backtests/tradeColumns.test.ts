import { describe, expect, test } from 'vitest'
import { isoUtc, rowsFromColumns, type TradeColumns } from './tradeColumns'

describe('isoUtc', () => {
  test('writes times as the API does (Python isoformat in UTC)', () => {
    expect(isoUtc(Date.UTC(2023, 0, 2, 3, 4, 5))).toBe('2023-01-02T03:04:05+00:00')
    expect(isoUtc(Date.UTC(2023, 0, 2, 3, 4, 5, 7))).toBe('2023-01-02T03:04:05.007000+00:00')
    expect(isoUtc(0)).toBe('1970-01-01T00:00:00+00:00')
  })
})

describe('rowsFromColumns', () => {
  test('one row per index, every field from its column, side from direction', () => {
    const c: TradeColumns = {
      count: 2,
      entryTimes: [Date.UTC(2023, 0, 1), Date.UTC(2023, 0, 3)],
      exitTimes: [Date.UTC(2023, 0, 2), Date.UTC(2023, 0, 4)],
      entryPrices: [100, 110],
      exitPrices: [105, 100],
      quantities: [1, 2],
      directions: [1, -1],
      grossPnl: [5, 20],
      fees: [0.1, 0.2],
      pnl: [4.9, 19.8],
      returns: [0.049, 0.09],
      exitReasons: ['SIGNAL', 'STOP_LOSS'],
    }
    expect(rowsFromColumns(c)).toEqual([
      { seq: 0, entryTime: '2023-01-01T00:00:00+00:00', exitTime: '2023-01-02T00:00:00+00:00', entryPrice: 100, exitPrice: 105, quantity: 1, direction: 1, side: 'LONG', grossPnl: 5, fees: 0.1, pnl: 4.9, return: 0.049, exitReason: 'SIGNAL' },
      { seq: 1, entryTime: '2023-01-03T00:00:00+00:00', exitTime: '2023-01-04T00:00:00+00:00', entryPrice: 110, exitPrice: 100, quantity: 2, direction: -1, side: 'SHORT', grossPnl: 20, fees: 0.2, pnl: 19.8, return: 0.09, exitReason: 'STOP_LOSS' },
    ])
    expect(rowsFromColumns({ ...c, count: 0 })).toEqual([])
  })
})
