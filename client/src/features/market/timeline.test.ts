import { describe, expect, test } from 'vitest'
import { gapSpans, MIN_WIDTH, ownAxis, sharedAxis, spanOf, timelineLabel } from './timeline'

const D = (day: number) => `2024-01-${String(day).padStart(2, '0')}T00:00:00+00:00`

describe('sharedAxis', () => {
  test('spans the earliest first to the latest last', () => {
    const axis = sharedAxis([
      { first: D(5), last: D(11) },
      { first: D(1), last: D(6) },
    ])
    expect(axis).toEqual({ start: Date.parse(D(1)), end: Date.parse(D(11)) })
  })
  test('is null without ranges (or with unreadable times only)', () => {
    expect(sharedAxis([])).toBeNull()
    expect(sharedAxis([{ first: 'x', last: 'y' }])).toBeNull()
  })
})

test('ownAxis: the series own range, its bar filling it', () => {
  const axis = ownAxis({ first: D(2), last: D(4) })!
  expect(axis).toEqual({ start: Date.parse(D(2)), end: Date.parse(D(4)) })
  expect(spanOf(axis, D(2), D(4))).toEqual({ left: 0, width: 1 })
  expect(ownAxis({ first: 'nope', last: D(4) })).toBeNull()
})

describe('spanOf', () => {
  const axis = { start: Date.parse(D(1)), end: Date.parse(D(11)) }
  test('places a range as fractions of the axis', () => {
    const s = spanOf(axis, D(3), D(8))
    expect(s.left).toBeCloseTo(0.2)
    expect(s.width).toBeCloseTo(0.5)
  })
  test('clamps to the axis', () => {
    expect(spanOf(axis, '2023-12-01T00:00:00Z', '2024-02-01T00:00:00Z')).toEqual({ left: 0, width: 1 })
  })
  test('keeps a one-instant range visible, inside the axis', () => {
    const s = spanOf(axis, D(11), D(11))
    expect(s.width).toBe(MIN_WIDTH)
    expect(s.left + s.width).toBeCloseTo(1)
  })
  test('a one-instant axis fills the bar', () => {
    expect(spanOf({ start: 5, end: 5 }, D(1), D(1))).toEqual({ left: 0, width: 1 })
  })
})

describe('gapSpans', () => {
  test('draws each gap where it is, labelled for screen readers', () => {
    const axis = { start: Date.parse(D(1)), end: Date.parse(D(11)) }
    const [g] = gapSpans(axis, [{ first: D(6), last: D(6), bars: 1 }])
    expect(g!.left).toBeCloseTo(0.5)
    expect(g!.width).toBe(MIN_WIDTH)
    expect(g!.label).toBe('1 missing bar from 2024-01-06 00:00 to 2024-01-06 00:00')
    const [h] = gapSpans(axis, [{ first: D(2), last: D(4), bars: 2881 }])
    expect(h!.width).toBeCloseTo(0.2)
    expect(h!.label).toBe('2,881 missing bars from 2024-01-02 00:00 to 2024-01-04 00:00')
  })
})

describe('timelineLabel', () => {
  const s = { symbol: 'BTC/USDT', timeframe: '1m', exchange: 'binance', count: 3500, first: D(1), last: D(3), missingBars: 0 }
  test('says what is stored, and the gaps', () => {
    expect(timelineLabel(s, 0)).toBe('BTC/USDT 1m on binance: 3,500 candles from 2024-01-01 00:00 to 2024-01-03 00:00, no gaps')
    expect(timelineLabel({ ...s, missingBars: 4 }, 2)).toMatch(/, 2 gaps \(4 missing bars\)$/)
    expect(timelineLabel({ ...s, missingBars: 1 }, 1)).toMatch(/, 1 gap \(1 missing bars\)$/)
    expect(timelineLabel({ ...s, missingBars: 4 }, null)).toMatch(/, gaps \(4 missing bars\)$/)
  })
})
