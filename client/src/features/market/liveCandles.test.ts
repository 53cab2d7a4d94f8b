import { describe, expect, test } from 'vitest'
import { chartBar, mergeCandle, seedColumns, type LiveCandle } from './liveCandles'

const MIN = 60_000
const seed = { times: [0, MIN], open: [1, 2], high: [3, 4], low: [0.5, 1.5], close: [2, 3], volume: [10, 20] }
const bar = (timeMs: number, close: number, closed = false): LiveCandle => ({ timeMs, open: 3, high: Math.max(3, close), low: Math.min(3, close), close, volume: 5, closed })

describe('seedColumns', () => {
  test('copies the seed (the query result stays untouched)', () => {
    const cols = seedColumns(seed)
    mergeCandle(cols, bar(2 * MIN, 4))
    expect(seed.times).toEqual([0, MIN])
    expect(cols.times).toEqual([0, MIN, 2 * MIN])
  })
  test('starts empty without a seed', () => {
    expect(seedColumns(null).times).toEqual([])
  })
})

describe('mergeCandle', () => {
  test('the forming bar replaces itself in place, then the next one is appended', () => {
    const cols = seedColumns(seed)
    expect(mergeCandle(cols, bar(2 * MIN, 3.5))).toBe('appended')
    expect(mergeCandle(cols, bar(2 * MIN, 3.8))).toBe('replaced')
    expect(mergeCandle(cols, bar(2 * MIN, 3.9, true))).toBe('replaced')
    expect(cols.times).toEqual([0, MIN, 2 * MIN])
    expect(cols.close).toEqual([2, 3, 3.9])
    expect(cols.high[2]).toBe(3.9)
    expect(mergeCandle(cols, bar(3 * MIN, 2.5))).toBe('appended')
    expect(cols.times.length).toBe(4)
    expect(cols.low[3]).toBe(2.5)
  })
  test('an update repeating the last stored bar replaces it', () => {
    const cols = seedColumns(seed)
    expect(mergeCandle(cols, bar(MIN, 9))).toBe('replaced')
    expect(cols.close).toEqual([2, 9])
  })
  test('an update older than the last bar changes nothing', () => {
    const cols = seedColumns(seed)
    expect(mergeCandle(cols, bar(0, 9))).toBe('stale')
    expect(cols.close).toEqual([2, 3])
  })
  test('works on an empty series', () => {
    const cols = seedColumns(undefined)
    expect(mergeCandle(cols, bar(5 * MIN, 1))).toBe('appended')
    expect(cols.times).toEqual([5 * MIN])
  })
})

test('chartBar: UTC seconds', () => {
  expect(chartBar(bar(2 * MIN + 999, 4))).toMatchObject({ time: 120, close: 4, volume: 5 })
})
