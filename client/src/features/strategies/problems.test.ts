import { describe, expect, test } from 'vitest'
import { ancestors, documentPath, fieldId, placeProblems } from './problems'
import { fieldPaths, fromDocument } from './model'
import { example } from './testing/fixtures'

describe('documentPath', () => {
  test('strips the input prefix', () => {
    expect(documentPath('input.document.entry.all[1].left.period')).toBe('entry.all[1].left.period')
    expect(documentPath('input.name')).toBe('name')
    expect(documentPath('input.document')).toBe('')
    expect(documentPath('id')).toBeNull()
  })

  test('ancestors, nearest first', () => {
    expect(ancestors('entry.all[1].left.period')).toEqual(['entry.all[1].left.period', 'entry.all[1].left', 'entry.all[1]', 'entry.all', 'entry'])
    expect(ancestors('parameters.w.values[2]')).toEqual(['parameters.w.values[2]', 'parameters.w.values', 'parameters.w', 'parameters'])
    expect(ancestors('')).toEqual([])
  })
})

describe('placeProblems', () => {
  const doc = example('donchian_short')
  const known = fieldPaths(fromDocument(doc)!, () => ['period'])

  test('puts each problem at its field, or the nearest thing the builder shows', () => {
    const placed = placeProblems([
      { path: 'input.document.entry.all[1].left.period', message: 'must be an integer >= 1, got 0' },
      { path: 'input.document.entry.all[0].right.perod', message: 'unknown field' },
      { path: 'input.document.parameters.exit_period.values[1]', message: 'not a number' },
      { path: 'input.document.exit', message: 'the strategy never closes a position' },
      { path: 'input.name', message: 'taken' },
      { path: 'input.document.colour', message: 'unknown field' },
      { path: 'input.document', message: 'too big' },
      { path: 'input.other', message: 'odd' },
    ], known)
    expect(Object.fromEntries(placed.at)).toEqual({
      'entry.all[1].left.period': ['must be an integer >= 1, got 0'],
      'entry.all[0].right': ['perod: unknown field'],
      'parameters.exit_period.values': ['[1]: not a number'],
      exit: ['the strategy never closes a position'],
      name: ['taken'],
    })
    expect(placed.unplaced).toEqual([
      { path: 'colour', message: 'unknown field' },
      { path: 'input.document', message: 'too big' },
      { path: 'input.other', message: 'odd' },
    ])
  })

  test('field ids are valid and distinct', () => {
    expect(fieldId('entry.all[1].left.period')).toBe('f-entry-all-1-left-period')
    expect(fieldId('entry.all[11].left')).not.toBe(fieldId('entry.all[1].left'))
  })
})
