import { describe, expect, test } from 'vitest'
import { coverageRatio, coverageText, marketRows } from './market'

describe('coverage', () => {
  test('stored bars against all the bars of the range', () => {
    expect(coverageRatio(90, 10)).toBe(0.9)
    expect(coverageRatio(100, 0)).toBe(1)
    expect(coverageRatio(0, 0)).toBe(0)
  })
  test('the text never rounds a gap away, nor a stored bar', () => {
    expect(coverageText(1)).toBe('100 %')
    expect(coverageText(0.9996)).toBe('99.9 %')
    expect(coverageText(0.0004)).toBe('0.1 %')
    expect(coverageText(0.8765)).toBe('87.7 %')
    expect(coverageText(0)).toBe('0 %')
  })
})

test('marketRows', () => {
  const rows = marketRows({
    symbols: {
      totalCount: 1,
      edges: [{ node: { exchange: 'demo', symbol: 'DEMO/USDT', timeframe: '1h', count: 20000, first: '2023-01-01T00:00:00+00:00', last: '2025-04-13T23:00:00+00:00', missingBars: 1 } }],
    },
  })
  expect(rows).toEqual([
    {
      key: 'demo/DEMO/USDT/1h',
      exchange: 'demo',
      symbol: 'DEMO/USDT',
      timeframe: '1h',
      candles: '20,000',
      range: '2023-01-01 → 2025-04-13',
      ratio: 20000 / 20001,
      coverage: '99.9 %',
      gaps: '1 missing bar',
    },
  ])
  expect(marketRows(undefined)).toEqual([])
})
