import { describe, expect, test } from 'vitest'
import {
  buildHeatmap,
  heatTone,
  mean,
  median,
  paramsKey,
  paramValues,
  sameParams,
  sweptParams,
  toneBackground,
  type SweepRowLike,
} from './heatmap'

// 2 × 2 × 3 sets: fast (x) × slow (y) × stop (the third, reduced)
function grid(): SweepRowLike[] {
  const rows: SweepRowLike[] = []
  let rank = 1
  for (const fast of [5, 10])
    for (const slow of [20, 40])
      for (const stop of [1, 2, 3]) {
        rows.push({ rank: rank++, params: { fast, slow, stop, fee: 7 }, metrics: { sharpe: fast + slow / 10 + stop, maxDrawdown: stop / 10 } })
      }
  return rows
}

describe('the swept parameters', () => {
  test('those that vary, in order; their values ascending', () => {
    const rows = grid()
    expect(sweptParams(rows)).toEqual(['fast', 'slow', 'stop'])
    expect(paramValues(rows, 'slow')).toEqual([20, 40])
    expect(sweptParams([])).toEqual([])
  })
})

describe('reductions', () => {
  test('median and mean', () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([])).toBeNull()
    expect(mean([1, 2, 6])).toBe(3)
    expect(mean([])).toBeNull()
  })

  test('fixed: the one set with the chosen value of the others', () => {
    const h = buildHeatmap(grid(), { x: 'fast', y: 'slow', metric: 'sharpe', reduction: 'fixed', fixed: { stop: 2 } })
    expect(h.xs).toEqual([5, 10])
    expect(h.ys).toEqual([20, 40])
    expect(h.cells.map((r) => r.map((c) => c.value))).toEqual([
      [9, 14],
      [11, 16],
    ])
    expect(h.cells[1]![0]!.row?.params).toEqual({ fast: 5, slow: 40, stop: 2, fee: 7 })
    expect(h.cells[0]![0]!.count).toBe(1)
    expect([h.min, h.max]).toEqual([9, 16])
  })

  test('best: the highest of the cell (its set is the one a click runs)', () => {
    const h = buildHeatmap(grid(), { x: 'fast', y: 'slow', metric: 'sharpe', reduction: 'best' })
    expect(h.cells[0]![0]).toMatchObject({ value: 10, count: 3 })
    expect(h.cells[0]![0]!.row?.params.stop).toBe(3)
  })

  test('best of a lower-is-better metric is the lowest', () => {
    const h = buildHeatmap(grid(), { x: 'fast', y: 'slow', metric: 'maxDrawdown', reduction: 'best' })
    expect(h.cells[0]![0]!.value).toBeCloseTo(0.1)
    expect(h.cells[0]![0]!.row?.params.stop).toBe(1)
  })

  test('median and mean over the other parameters', () => {
    const rows = grid()
    rows[0] = { ...rows[0]!, metrics: { sharpe: 100 } } // fast 5, slow 20, stop 1: an outlier
    const med = buildHeatmap(rows, { x: 'fast', y: 'slow', metric: 'sharpe', reduction: 'median' })
    expect(med.cells[0]![0]!.value).toBe(10) // 100, 9, 10: the middle one
    const avg = buildHeatmap(rows, { x: 'fast', y: 'slow', metric: 'sharpe', reduction: 'mean' })
    expect(avg.cells[0]![0]!.value).toBeCloseTo(119 / 3)
    expect(avg.cells[1]![1]!.value).toBeCloseTo(16) // 15, 16, 17
  })

  test('null metrics are left out; a cell without a stored set is empty', () => {
    const rows = grid().filter((r) => !(r.params.fast === 10 && r.params.slow === 40))
    rows[0] = { ...rows[0]!, metrics: { sharpe: null } }
    const h = buildHeatmap(rows, { x: 'fast', y: 'slow', metric: 'sharpe', reduction: 'mean' })
    expect(h.cells[0]![0]!.value).toBeCloseTo(9.5) // 9, 10
    expect(h.cells[1]![1]).toMatchObject({ value: null, count: 0, row: null })
  })
})

describe('the colour scale', () => {
  test('diverging around 0 when the values have both signs', () => {
    expect(heatTone(1, -2, 4)).toEqual({ color: '--up', strength: 0.25 })
    expect(heatTone(-2, -2, 4)).toEqual({ color: '--down', strength: 0.5 })
    expect(heatTone(null, -2, 4)).toBeNull()
  })
  test('one colour, strongest for the best value, otherwise', () => {
    expect(heatTone(4, 2, 4)).toEqual({ color: '--chart-1', strength: 1 })
    expect(heatTone(0.1, 0.1, 0.3, true)).toEqual({ color: '--chart-1', strength: 1 })
    expect(toneBackground({ color: '--up', strength: 0.5 })).toBe('color-mix(in srgb, var(--up) 28%, transparent)')
  })
})

describe('matching parameter sets', () => {
  test('same names, values within rounding', () => {
    expect(sameParams({ fast: 10, slow: 50 }, { slow: 50, fast: 10.0000000000001 })).toBe(true)
    expect(sameParams({ fast: 10, slow: 50 }, { fast: 10 })).toBe(false)
    expect(sameParams({ fast: 10 }, { fast: 11 })).toBe(false)
    expect(paramsKey({ slow: 50, fast: 0.1 + 0.2 })).toBe('fast=0.3&slow=50')
  })
})
