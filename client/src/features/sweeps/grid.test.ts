import { describe, expect, test } from 'vitest'
import {
  axisOf,
  barsInRange,
  countSets,
  defaultSpec,
  estimateSeconds,
  NS_PER_BAR_SET,
  OVERHEAD_SECONDS,
  parseList,
  planGrid,
  rangeCount,
  rangeValues,
  type ParamDecl,
} from './grid'

const fast: ParamDecl = { name: 'fast', value: 10, integer: true, range: { start: 5, stop: 50, step: 5 } }
const slow: ParamDecl = { name: 'slow', value: 50, integer: true, values: [100, 200] }
const band: ParamDecl = { name: 'band', value: 2, integer: false }

describe('ranges, as the API counts them', () => {
  test('stop included, a last value within 1e-9 steps counts', () => {
    expect(rangeCount(5, 50, 5)).toBe(10)
    expect(rangeCount(0.1, 1, 0.1)).toBe(10)
    expect(rangeCount(1, 1, 3)).toBe(1)
    expect(rangeValues(0.1, 0.5, 0.1)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5])
    expect(rangeValues(10, 25, 5)).toEqual([10, 15, 20, 25])
  })
})

describe('the form rows', () => {
  test('default: the declared range, the declared values, else fixed', () => {
    expect(defaultSpec(fast)).toMatchObject({ mode: 'range', start: '5', stop: '50', step: '5' })
    expect(defaultSpec(slow)).toMatchObject({ mode: 'list', list: '100, 200' })
    expect(defaultSpec(band)).toMatchObject({ mode: 'fixed', value: '2' })
  })

  test('lists: commas or spaces, duplicates once, a bad value named', () => {
    expect(parseList('1, 2 3;4')).toEqual([1, 2, 3, 4])
    expect(parseList('1, x')).toBe('"x" is not a number.')
    expect(parseList('  ')).toBe('Enter at least one value.')
    expect(axisOf(band, { ...defaultSpec(band), mode: 'list', list: '1, 1, 2' })).toEqual({ axis: [1, 2], values: [1, 2] })
  })

  test('problems in words', () => {
    const spec = defaultSpec(fast)
    expect(axisOf(fast, { ...spec, step: '0' })).toEqual({ error: 'The step must be more than 0.' })
    expect(axisOf(fast, { ...spec, start: '60' })).toEqual({ error: 'The start must not be after the stop.' })
    expect(axisOf(fast, { ...spec, stop: '' })).toEqual({ error: 'Enter a start, a stop and a step.' })
    expect(axisOf(fast, { ...spec, step: '2.5' })).toEqual({ error: 'fast is a whole number (a period): use whole values.' })
    expect(axisOf(band, { ...defaultSpec(band), value: 'abc' })).toEqual({ error: 'Enter a number.' })
    expect(axisOf(fast, { ...spec, start: 10, stop: 30, step: 10 })).toEqual({ axis: { start: 10, stop: 30, step: 10 }, values: [10, 20, 30] }) // number inputs give numbers
  })
})

describe('counting the sets', () => {
  test('the product of each parameter’s count; a fixed one counts once', () => {
    expect(countSets([])).toBe(1)
    expect(countSets([3, 4])).toBe(12)
    const plan = planGrid([fast, slow, band], {
      fast: { ...defaultSpec(fast), start: '10', stop: '30', step: '10' },
      slow: defaultSpec(slow),
      band: { ...defaultSpec(band), mode: 'list', list: '1.5 2 2.5' },
    })
    expect(plan.counts).toEqual({ fast: 3, slow: 2, band: 3 })
    expect(plan.sets).toBe(18)
    expect(plan.grid).toEqual({ fast: { start: 10, stop: 30, step: 10 }, slow: [100, 200], band: [1.5, 2, 2.5] })
    expect(plan.errors).toEqual({})
  })

  test('a row with a problem makes no sets and says why', () => {
    const plan = planGrid([fast, band], { fast: { ...defaultSpec(fast), step: '-1' }, band: defaultSpec(band) })
    expect(plan.sets).toBe(0)
    expect(plan.errors).toEqual({ fast: 'The step must be more than 0.' })
    expect(plan.grid).toEqual({ band: [2] })
  })
})

describe('the estimate', () => {
  test('bars of the range, within what is stored', () => {
    expect(barsInRange('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z', '1h')).toBe(24)
    expect(barsInRange('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z', '1h', { first: '2024-01-01T12:00:00Z', last: '2024-03-01T00:00:00Z' })).toBe(12)
    expect(barsInRange('2024-01-01T00:00:00Z', '2024-02-01T00:00:00Z', '1h', { first: '2023-01-01T00:00:00Z', last: '2024-01-01T05:00:00Z' })).toBe(6)
    expect(barsInRange('2024-01-02T00:00:00Z', '2024-01-01T00:00:00Z', '1h')).toBe(0)
    expect(barsInRange('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z', '7x')).toBe(0)
  })

  test('bars × sets × the per-bar cost, plus the start-up', () => {
    expect(estimateSeconds(0, 12)).toBe(0)
    expect(estimateSeconds(50_000, 10_000)).toBeCloseTo(OVERHEAD_SECONDS + (50_000 * 10_000 * NS_PER_BAR_SET) / 1e9)
    expect(estimateSeconds(50_000, 10_000)).toBeCloseTo(4) // the README's 2.8-3.1 s run, rounded up
    expect(estimateSeconds(20_000, 12)).toBeCloseTo(1.00144)
  })
})
