import { describe, expect, test } from 'vitest'
import { attributionRows } from './attribution'

const base = { slippage: 12.5, feeAttribution: -4, droppedPnl: 0, pnlDifference: 8.5, nDropped: 0 }

describe('attributionRows', () => {
  test('the parts, then the total, in the API’s numbers', () => {
    const rows = attributionRows(base)
    expect(rows.map((r) => [r.key, r.value])).toEqual([
      ['prices', 12.5],
      ['fees', -4],
      ['dropped', 0],
      ['total', 8.5],
    ])
  })

  test('bars are scaled to the largest part', () => {
    const rows = attributionRows(base)
    expect(rows.find((r) => r.key === 'prices')!.share).toBe(1)
    expect(rows.find((r) => r.key === 'fees')!.share).toBeCloseTo(4 / 12.5)
    expect(rows.find((r) => r.key === 'total')!.share).toBe(0)
  })

  test('a difference the parts do not explain gets its own row', () => {
    const rows = attributionRows({ ...base, pnlDifference: 10 })
    const residual = rows.find((r) => r.key === 'residual')
    expect(residual?.value).toBeCloseTo(1.5)
    expect(attributionRows({ ...base, pnlDifference: 8.501 }).some((r) => r.key === 'residual')).toBe(false)
  })

  test('dropped fills are named, and nulls stay unknown', () => {
    const rows = attributionRows({ slippage: null, feeAttribution: null, droppedPnl: null, pnlDifference: null, nDropped: 3 })
    expect(rows.find((r) => r.key === 'dropped')!.hint).toBe('3 fills were pushed past the last bar.')
    expect(rows.every((r) => r.value === null && r.share === 0)).toBe(true)
    expect(attributionRows(base).find((r) => r.key === 'dropped')!.hint).toBe('No fill was pushed past the last bar.')
    expect(attributionRows({ ...base, nDropped: 1, droppedPnl: -2, pnlDifference: 6.5 }).find((r) => r.key === 'dropped')!.hint).toBe(
      'One fill was pushed past the last bar.',
    )
  })
})
