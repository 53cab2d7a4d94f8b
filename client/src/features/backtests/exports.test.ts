import { describe, expect, test } from 'vitest'
import { htmlReport, parseTradesCsv, summaryToJson, TRADE_COLUMNS, tradesToCsv, tradesToJson, type ExportTrade } from './exports'

const trades: ExportTrade[] = [
  { seq: 0, entryTime: '2024-01-01T01:00:00+00:00', exitTime: '2024-01-02T05:00:00+00:00', entryPrice: 28.123456789, exitPrice: 29.5, quantity: 355.1234, direction: 1, side: 'LONG', grossPnl: 489.0123, fees: 20.25, pnl: 468.7623, return: 0.046876, exitReason: 'SIGNAL' },
  { seq: 1, entryTime: '2024-01-03T00:00:00+00:00', exitTime: '2024-01-03T09:00:00+00:00', entryPrice: 30, exitPrice: 31, quantity: 1e-7, direction: -1, side: 'SHORT', grossPnl: -1e-7, fees: 0, pnl: -1.5e-7, return: -0.0333, exitReason: 'STOP_LOSS' },
]

describe('tradesToCsv', () => {
  test('a header and a row per trade, equal to the trades field for field', () => {
    const csv = tradesToCsv(trades)
    expect(csv.split('\r\n')[0]).toBe(TRADE_COLUMNS.join(','))
    const rows = parseTradesCsv(csv)
    expect(rows).toHaveLength(2)
    rows.forEach((row, i) => {
      for (const c of TRADE_COLUMNS) expect(row[c]).toEqual(trades[i]![c])
    })
  })

  test('quotes cells with commas or quotes', () => {
    const odd = { ...trades[0]!, exitReason: 'A,"B"' as ExportTrade['exitReason'] }
    expect(tradesToCsv([odd])).toContain('"A,""B"""')
  })

  test('an empty run has the header only', () => {
    expect(tradesToCsv([])).toBe(TRADE_COLUMNS.join(',') + '\r\n')
  })
})

test('tradesToJson and summaryToJson', () => {
  expect(JSON.parse(tradesToJson(trades))).toEqual(trades.map((t) => Object.fromEntries(TRADE_COLUMNS.map((c) => [c, t[c]]))))
  const meta = { id: 'B1', strategyName: 'S', exchange: 'demo', symbol: 'DEMO/USDT', timeframe: '1h', from: 'a', to: 'b', initialCapital: 1, params: {}, createdAt: 'c' }
  const s = JSON.parse(summaryToJson(meta, { __typename: 'PerformanceSummary', totalReturn: 0.1 } as never))
  expect(s).toEqual({ backtest: meta, summary: { totalReturn: 0.1 } })
})

test('the HTML report is self-contained and escapes what it shows', () => {
  const html = htmlReport({
    meta: { id: 'B1', strategyName: '<script>x</script>', exchange: 'demo', symbol: 'DEMO/USDT', timeframe: '1h', from: 'a', to: 'b', initialCapital: 1, params: { fast: 10 }, createdAt: 'c' },
    kpis: [['Total return', '+10.00 %']],
    images: [{ caption: 'c', dataUrl: 'data:image/png;base64,AAAA' }, { caption: 'evil', dataUrl: 'https://example.com/x.png' }],
    tables: [{ title: 'T', headers: ['a'], rows: [['1']] }],
  })
  expect(html).not.toMatch(/https?:\/\//)
  expect(html).not.toContain('<script>')
  expect(html).toContain('&lt;script&gt;')
  expect(html).toContain('data:image/png;base64,AAAA')
})
