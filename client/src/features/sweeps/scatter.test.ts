import { describe, expect, test } from 'vitest'
import { niceTicks, scatterPoints } from './scatter'

describe('the scatter', () => {
  test('points with both metrics, by drawdown then return', () => {
    const rows = [
      { rank: 1, params: { a: 1 }, metrics: { totalReturn: 0.2, maxDrawdown: 0.1 } },
      { rank: 2, params: { a: 2 }, metrics: { totalReturn: null, maxDrawdown: 0.05 } },
      { rank: 3, params: { a: 3 }, metrics: { totalReturn: -0.1, maxDrawdown: 0.1 } },
      { rank: 4, params: { a: 4 }, metrics: { totalReturn: 0.3, maxDrawdown: 0.02 } },
    ]
    expect(scatterPoints(rows).map((p) => p.row.rank)).toEqual([4, 3, 1])
  })

  test('ticks cover the range in round steps', () => {
    expect(niceTicks(0, 0.23, 5)).toEqual([0, 0.05, 0.1, 0.15, 0.2, 0.25])
    expect(niceTicks(-0.12, 0.3, 4)).toEqual([-0.2, 0, 0.2, 0.4])
    expect(niceTicks(-0.8, 0.2, 5)).toEqual([-0.8, -0.6, -0.4, -0.2, 0, 0.2]) // 0, never -0 ("-0 %")
    expect(niceTicks(-0.6398, 0.2, 5)).toEqual([-0.8, -0.6, -0.4, -0.2, 0, 0.2])
    const flat = niceTicks(0.5, 0.5)
    expect(flat[0]).toBeLessThanOrEqual(0.5)
    expect(flat[flat.length - 1]).toBeGreaterThanOrEqual(0.5)
  })
})
