import { describe, expect, test } from 'vitest'
import { DEFAULT_VIEW, isFiltered, parseListQuery, toRouteQuery, toVariables, withChange } from './listQuery'

describe('the list view in the URL', () => {
  test('an empty query is the default view: newest first, first page', () => {
    expect(parseListQuery({})).toEqual(DEFAULT_VIEW)
    expect(toRouteQuery(DEFAULT_VIEW)).toEqual({})
  })
  test('round trip through the route query', () => {
    const view = { ...DEFAULT_VIEW, status: 'SUCCEEDED' as const, symbol: 'BTC/USDT', strategy: 'S1', from: '2025-01-01', to: '2025-01-31', sort: 'sharpe' as const, dir: 'desc' as const, after: 'c1' }
    const q = toRouteQuery(view)
    expect(q).toEqual({ status: 'succeeded', symbol: 'BTC/USDT', strategy: 'S1', from: '2025-01-01', to: '2025-01-31', sort: 'sharpe', dir: 'desc', after: 'c1' })
    expect(parseListQuery(q)).toEqual(view)
  })
  test('malformed values fall back to the defaults', () => {
    expect(parseListQuery({ status: 'nope', from: '2025-13-99x', sort: 'pnl', dir: 'up' })).toEqual(DEFAULT_VIEW)
  })
  test('a sort without a direction takes its natural one (drawdown: smallest first)', () => {
    expect(parseListQuery({ sort: 'drawdown' })).toMatchObject({ sort: 'drawdown', dir: 'asc' })
    expect(parseListQuery({ sort: 'return' })).toMatchObject({ sort: 'return', dir: 'desc' })
  })
  test('symbols are matched as stored (upper case)', () => {
    expect(parseListQuery({ symbol: ' eth/usdt ' }).symbol).toBe('ETH/USDT')
  })
  test('after wins over before; changing a filter goes back to the first page', () => {
    expect(parseListQuery({ after: 'a', before: 'b' })).toMatchObject({ after: 'a', before: null })
    const paged = { ...DEFAULT_VIEW, after: 'a' }
    expect(withChange(paged, { symbol: 'X' })).toMatchObject({ symbol: 'X', after: null, before: null })
  })
  test('isFiltered: only filters, not the sort or the page', () => {
    expect(isFiltered({ ...DEFAULT_VIEW, sort: 'sharpe', after: 'x' })).toBe(false)
    expect(isFiltered({ ...DEFAULT_VIEW, from: '2025-01-01' })).toBe(true)
  })
})

describe('the API variables', () => {
  test('default: the first page, newest first, no filter', () => {
    expect(toVariables(DEFAULT_VIEW, 20)).toEqual({ filter: null, sort: { field: 'CREATED', direction: 'DESC' }, first: 20, after: null })
  })
  test('filters, with the inclusive end day as the next midnight', () => {
    const v = toVariables({ ...DEFAULT_VIEW, status: 'FAILED', symbol: 'DEMO/USDT', strategy: 'S9', from: '2025-02-28', to: '2025-02-28', sort: 'drawdown', dir: 'asc' }, 10)
    expect(v.filter).toEqual({ status: ['FAILED'], symbol: 'DEMO/USDT', strategyId: 'S9', createdFrom: '2025-02-28T00:00:00.000Z', createdTo: '2025-03-01T00:00:00.000Z' })
    expect(v.sort).toEqual({ field: 'MAX_DRAWDOWN', direction: 'ASC' })
  })
  test('keyset pages: forward after a cursor, backward before one', () => {
    expect(toVariables({ ...DEFAULT_VIEW, after: 'c' }, 5)).toMatchObject({ first: 5, after: 'c' })
    const back = toVariables({ ...DEFAULT_VIEW, before: 'c' }, 5)
    expect(back).toMatchObject({ last: 5, before: 'c' })
    expect(back).not.toHaveProperty('first')
  })
})
