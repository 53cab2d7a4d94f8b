import { describe, expect, test } from 'vitest'
import { downsample, sparkline } from './sparkline'

describe('downsample', () => {
  test('a short series is kept whole', () => {
    expect(downsample([1, 2, 3], 10)).toEqual([1, 2, 3])
  })
  test('a long one fits in max points and keeps the first, the last and the extremes', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 100 + Math.sin(i / 10))
    values[500] = 50 // a crash
    values[700] = 200 // a spike
    const out = downsample(values, 40)
    expect(out.length).toBeLessThanOrEqual(40)
    expect(out[0]).toBe(values[0])
    expect(out[out.length - 1]).toBe(values[999])
    expect(Math.min(...out)).toBe(50)
    expect(Math.max(...out)).toBe(200)
  })
  test('within a bucket, the low and the high keep their order in time', () => {
    // 0 | 5 1 | 9 ... : buckets of the inner values keep (5, 1) as a fall
    const out = downsample([0, 5, 1, 2, 9, 3, 4, 8], 6)
    expect(out[0]).toBe(0)
    expect(out.slice(1, 3)).toEqual([5, 1])
    expect(out[out.length - 1]).toBe(8)
  })
  test('values that are not finite are left out', () => {
    expect(downsample([1, Number.NaN, 2, Number.POSITIVE_INFINITY, 3], 10)).toEqual([1, 2, 3])
  })
})

describe('sparkline', () => {
  test('maps the range onto the box: the highest at the top (after the padding), the lowest at the bottom', () => {
    const s = sparkline([10, 20, 15], 100, 30, 2)!
    expect(s.line).toBe('M0,28L50,2L100,15')
    expect(s.area).toBe('M0,28L50,2L100,15L100,30L0,30Z')
    expect(s).toMatchObject({ first: 10, last: 15, min: 10, max: 20 })
  })
  test('a flat series runs across the middle', () => {
    expect(sparkline([5, 5, 5, 5], 90, 20, 2)!.line).toBe('M0,10L30,10L60,10L90,10')
  })
  test('fewer than two points draw nothing', () => {
    expect(sparkline([], 100, 30)).toBeNull()
    expect(sparkline([1], 100, 30)).toBeNull()
  })
  test('a long series is downsampled to about two points per pixel', () => {
    const s = sparkline(Array.from({ length: 5000 }, (_, i) => i), 100, 30)!
    expect(s.line.split('L').length).toBeLessThanOrEqual(200)
    expect(s.first).toBe(0)
    expect(s.last).toBe(4999)
  })
})
