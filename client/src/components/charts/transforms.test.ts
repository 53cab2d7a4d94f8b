import { describe, expect, test } from 'vitest'
import {
  histogramBars,
  indicatorLines,
  monthGrid,
  strategyIndicators,
  timeframeSeconds,
  toBars,
  toLine,
  toUnderwater,
  toVolume,
  tradeMarkers,
  tradeRange,
  tradesAt,
} from './transforms'

const H = 3_600_000
const t0 = Date.UTC(2024, 0, 1)

describe('toBars', () => {
  test('ms to UTC seconds, a bar per time, missing prices as whitespace', () => {
    const bars = toBars({ times: [t0, t0 + H], open: [1, NaN], high: [2, 3], low: [0.5, 1], close: [1.5, 2] })
    expect(bars).toEqual([{ time: t0 / 1000, open: 1, high: 2, low: 0.5, close: 1.5 }, { time: t0 / 1000 + 3600 }])
  })

  test('100k bars in well under a second', () => {
    const n = 100_000
    const times = Array.from({ length: n }, (_, i) => t0 + i * H)
    const ones = new Array(n).fill(1)
    const start = performance.now()
    const bars = toBars({ times, open: ones, high: ones, low: ones, close: ones })
    expect(bars).toHaveLength(n)
    expect(performance.now() - start).toBeLessThan(500)
  })
})

test('toVolume colours by the candle direction', () => {
  const v = toVolume({ times: [t0, t0 + H], open: [1, 2], high: [2, 2], low: [1, 1], close: [2, 1], volume: [10, 20] }, 'U', 'D')
  expect(v.map((b) => [b.value, b.color])).toEqual([[10, 'U'], [20, 'D']])
})

test('toLine turns nulls into whitespace; toUnderwater draws drawdown below zero in %', () => {
  expect(toLine({ times: [t0, t0 + H], values: [null, 2] })).toEqual([{ time: t0 / 1000 }, { time: t0 / 1000 + 3600, value: 2 }])
  expect(toUnderwater({ times: [t0], values: [0.25] })[0]).toEqual({ time: t0 / 1000, value: -25 })
})

describe('tradeMarkers', () => {
  const trades = [
    { seq: 1, entryTime: '2024-01-01T05:00:00Z', exitTime: '2024-01-01T09:00:00Z', side: 'SHORT' as const, pnl: -3 },
    { seq: 0, entryTime: '2024-01-01T01:00:00Z', exitTime: '2024-01-01T03:00:00Z', side: 'LONG' as const, pnl: 5 },
  ]
  const m = tradeMarkers(trades, { long: 'L', short: 'S' })

  test('two per trade, sorted by time, coloured by side', () => {
    expect(m).toHaveLength(4)
    expect(m.map((x) => x.id)).toEqual(['e0', 'x0', 'e1', 'x1'])
    expect(m.map((x) => x.color)).toEqual(['L', 'L', 'S', 'S'])
    expect(m[0]).toMatchObject({ position: 'belowBar', shape: 'arrowUp' })
    expect(m[2]).toMatchObject({ position: 'aboveBar', shape: 'arrowDown' })
  })

  test('tradesAt finds a trade by its entry or exit time; tradeRange pads it', () => {
    expect(tradesAt(trades, Date.parse('2024-01-01T09:00:00Z') / 1000).map((t) => t.seq)).toEqual([1])
    expect(tradesAt(trades, 1)).toEqual([])
    const r = tradeRange(trades[1]!, 3600, 2)
    expect(r.from).toBe(Date.parse('2024-01-01T01:00:00Z') / 1000 - 7200)
    expect(r.to).toBe(Date.parse('2024-01-01T03:00:00Z') / 1000 + 7200)
  })
})

test('timeframeSeconds', () => {
  expect(timeframeSeconds('1h')).toBe(3600)
  expect(timeframeSeconds('15m')).toBe(900)
  expect(timeframeSeconds('1d')).toBe(86400)
  expect(timeframeSeconds('?')).toBe(3600)
})

describe('strategyIndicators', () => {
  test('each indicator once, $params resolved, overlays first', () => {
    const doc = {
      parameters: { fast: { value: 10 } },
      entry: {
        all: [
          { left: { indicator: 'rsi', period: 14, source: 'close', output: 'value', bars_ago: 0 }, op: '<', right: 30 },
          { left: { indicator: 'sma', period: '$fast', source: 'close' }, op: 'crosses_above', right: { indicator: 'sma', period: '$slow' } },
        ],
      },
      exit: { left: { indicator: 'sma', period: '$fast', source: 'close', bars_ago: 1 }, op: '<', right: { indicator: 'bbands', period: 20, stddev: 2, output: 'upper' } },
    }
    const r = strategyIndicators(doc, { fast: 10, slow: 50 })
    expect(r.map((i) => [i.as, i.overlay])).toEqual([
      ['sma(10)', true],
      ['sma(50)', true],
      ['bbands(20,2)', true],
      ['rsi(14)', false],
    ])
    expect(r[0]!.params).toEqual({ period: 10, source: 'close' })
  })

  test('no indicators in a price-only document', () => {
    expect(strategyIndicators({ entry: { left: { price: 'close' }, op: '>', right: 1 } })).toEqual([])
  })
})

test('indicatorLines: overlays on pane 0, each oscillator in a pane of its own from 2', () => {
  const times = [t0]
  const lines = indicatorLines(times, [
    { name: 'sma(10)', indicator: 'sma', output: 'value', values: [1] },
    { name: 'macd(12,26,9)', indicator: 'macd', output: 'macd', values: [1] },
    { name: 'macd(12,26,9)', indicator: 'macd', output: 'signal', values: [null] },
    { name: 'rsi(14)', indicator: 'rsi', output: 'value', values: [50] },
  ])
  expect(lines.map((l) => [l.label, l.pane])).toEqual([
    ['sma(10)', 0],
    ['macd(12,26,9) macd', 2],
    ['macd(12,26,9) signal', 2],
    ['rsi(14)', 3],
  ])
  expect(lines[2]!.data).toEqual([{ time: t0 / 1000 }])
})

test('monthGrid and histogramBars', () => {
  const g = monthGrid(
    [
      { year: 2024, month: 2, return: 0.1 },
      { year: 2023, month: 12, return: -0.05 },
    ],
    [{ year: 2024, return: 0.1 }],
  )
  expect(g.map((r) => r.year)).toEqual([2023, 2024])
  expect(g[0]!.months[11]).toBe(-0.05)
  expect(g[1]!.months[1]).toBe(0.1)
  expect(g[1]!.total).toBe(0.1)
  const bars = histogramBars([-10, 0, 10], [3, 4])
  expect(bars).toEqual([
    { label: '-10 to 0', value: 3, sign: -1 },
    { label: '0 to 10', value: 4, sign: 1 },
  ])
})
