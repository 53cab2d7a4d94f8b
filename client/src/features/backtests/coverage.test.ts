import { expect, test } from 'vitest'
import { fieldOf, gapSegments, isoDay, selection } from './coverage'

test('gaps and the selection as fractions of the stored range', () => {
  const g = gapSegments('2024-01-01T00:00:00Z', '2024-01-11T00:00:00Z', [{ first: '2024-01-06T00:00:00Z', last: '2024-01-07T00:00:00Z', bars: 25 }])
  expect(g[0]!.start).toBeCloseTo(0.5)
  expect(g[0]!.width).toBeCloseTo(0.1)
  expect(selection('2024-01-01T00:00:00Z', '2024-01-11T00:00:00Z', '2024-01-01T00:00:00Z', '2024-02-01T00:00:00Z')).toEqual({ start: 0, width: 1 })
  expect(selection('2024-01-01T00:00:00Z', '2024-01-11T00:00:00Z', 'x', 'y')).toBeNull()
})

test('isoDay and the API problem paths to fields', () => {
  expect(isoDay('2025-04-13T07:00:00+00:00', 1)).toBe('2025-04-14')
  expect(fieldOf('input.initialCapital')).toBe('initialCapital')
  expect(fieldOf('input.params.fast')).toBe('param:fast')
  expect(fieldOf('input.to')).toBe('to')
})
