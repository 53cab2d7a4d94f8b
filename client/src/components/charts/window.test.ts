import { describe, expect, test } from 'vitest'
import { EDGE, FIRST_WINDOW, FULL_BELOW, firstStart, fromBar, grownStart, lowerBound, nearsOldest, startToShow } from './window'

describe('loading long series newest first', () => {
  test('short series load whole, long ones start with the newest window', () => {
    expect(firstStart(0)).toBe(0)
    expect(firstStart(FULL_BELOW)).toBe(0)
    expect(firstStart(100_000)).toBe(100_000 - FIRST_WINDOW)
  })

  test('the loaded span grows until it is the whole series', () => {
    const n = 100_000
    const starts = [firstStart(n)]
    while (starts.at(-1)! > 0) starts.push(grownStart(starts.at(-1)!, n))
    expect(starts).toEqual([92_000, 68_000, 0])
    expect(grownStart(0, n)).toBe(0)
    // a few more steps for a very long series, each span GROWTH times the last
    const m = 2_000_000
    const spans: number[] = []
    for (let s = firstStart(m); ; s = grownStart(s, m)) {
      spans.push(m - s)
      if (s === 0) break
    }
    expect(spans).toEqual([8_000, 32_000, 128_000, 512_000, 2_000_000])
  })

  test('showing an old bar loads back to it, with some history before it', () => {
    expect(startToShow(92_000, 95_000)).toBe(92_000)
    expect(startToShow(92_000, 1_000)).toBe(1_000 - EDGE)
    expect(startToShow(92_000, 10)).toBe(0)
  })

  test('nearing the oldest loaded bar', () => {
    expect(nearsOldest(10, 92_000)).toBe(true)
    expect(nearsOldest(-30, 92_000)).toBe(true)
    expect(nearsOldest(EDGE + 1, 92_000)).toBe(false)
    expect(nearsOldest(10, 0)).toBe(false)
    expect(nearsOldest(null, 92_000)).toBe(false)
  })

  test('lowerBound', () => {
    expect(lowerBound([10, 20, 30], 5)).toBe(0)
    expect(lowerBound([10, 20, 30], 20)).toBe(1)
    expect(lowerBound([10, 20, 30], 25)).toBe(2)
    expect(lowerBound([10, 20, 30], 31)).toBe(3)
    expect(lowerBound([], 1)).toBe(0)
  })

  test('fromBar slices every column and the indicators, nothing else', () => {
    const c = { times: [1, 2, 3, 4], open: [1, 2, 3, 4], volume: [5, 6, 7, 8], label: 'x', indicators: [{ name: 'sma', values: [null, 1, 2, 3] }] }
    expect(fromBar(c, 0)).toBe(c)
    expect(fromBar(c, 2)).toEqual({ times: [3, 4], open: [3, 4], volume: [7, 8], label: 'x', indicators: [{ name: 'sma', values: [2, 3] }] })
  })
})
