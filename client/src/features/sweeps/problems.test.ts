import { describe, expect, test } from 'vitest'
import { sweepFieldOf } from './problems'

describe('runSweep problems to fields', () => {
  test('each path lands on its field', () => {
    expect(sweepFieldOf('input.grid.fast')).toBe('param:fast')
    expect(sweepFieldOf('input.grid.fast.step')).toBe('param:fast')
    expect(sweepFieldOf('input.grid.slow[2]')).toBe('param:slow')
    expect(sweepFieldOf('input.grid')).toBe('grid')
    expect(sweepFieldOf('input.parameters')).toBe('grid')
    expect(sweepFieldOf('input.initialCapital')).toBe('initialCapital')
    expect(sweepFieldOf('input.to')).toBe('to')
    expect(sweepFieldOf('input')).toBe('input')
  })
})
