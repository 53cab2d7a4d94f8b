import { describe, expect, test } from 'vitest'
import { dateProblem, emptyFilter, isFiltered, toFilterInput } from './filter'
import { guessFormat, problemLines } from './problems'

describe('problemLines', () => {
  test('in file order, naming the row (or item) and the column', () => {
    const lines = problemLines([
      { row: 4, unit: 'row', column: 'price', message: 'not a number' },
      { row: 0, unit: 'row', column: '', message: 'Missing columns: fee' },
      { row: 2, unit: 'item', column: 'qty', message: 'must be positive.' },
    ])
    expect(lines.map((l) => [l.where, l.column, l.message])).toEqual([
      ['Whole file', '', 'Missing columns: fee.'],
      ['Item 2', 'qty', 'Must be positive.'],
      ['Row 4', 'price', 'Not a number.'],
    ])
    expect(new Set(lines.map((l) => l.key)).size).toBe(3)
  })
})

describe('guessFormat', () => {
  test('from the extension, CSV left to the user', () => {
    expect(guessFormat('trades.JSON')).toBe('BINANCE_MY_TRADES')
    expect(guessFormat('export.xlsx')).toBe('BINANCE_EXPORT')
    expect(guessFormat('fills.csv')).toBeNull()
  })
})

describe('toFilterInput', () => {
  test('nothing set: no condition', () => {
    expect(toFilterInput(emptyFilter())).toEqual({ symbol: null, side: null, from: null, to: null, importId: null })
    expect(isFiltered(emptyFilter())).toBe(false)
  })

  test('whole UTC days, the end day included', () => {
    const f = { symbol: ' demo/usdt ', side: 'BUY' as const, from: '2023-01-02', to: '2023-01-03', importId: 'imp1' }
    expect(toFilterInput(f)).toEqual({
      symbol: 'DEMO/USDT',
      side: 'BUY',
      from: '2023-01-02T00:00:00.000Z',
      to: '2023-01-04T00:00:00.000Z',
      importId: 'imp1',
    })
    expect(isFiltered(f)).toBe(true)
  })

  test('a half-typed date is ignored; an end before the start is named', () => {
    expect(toFilterInput({ ...emptyFilter(), from: '2023-1' }).from).toBeNull()
    expect(dateProblem({ ...emptyFilter(), from: '2023-01-05', to: '2023-01-04' })).toMatch(/before/)
    expect(dateProblem({ ...emptyFilter(), from: '2023-01-05', to: '2023-01-05' })).toBeNull()
  })
})
