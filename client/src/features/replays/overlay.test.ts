import { describe, expect, test } from 'vitest'
import { overlaySeries } from './overlay'

describe('overlaySeries', () => {
  test('two lines in chart seconds, with their last values and the gap', () => {
    const o = overlaySeries(
      { times: [1_000_000, 2_000_000, 3_000_000], values: [100, 101, 99] },
      { times: [1_000_000, 2_000_000, 3_000_000, 4_000_000], values: [100, 102, 103, 104.5] },
    )
    expect(o.actual).toEqual([
      { time: 1000, value: 100 },
      { time: 2000, value: 101 },
      { time: 3000, value: 99 },
    ])
    expect(o.replayed).toHaveLength(4)
    expect([o.actualLast, o.replayedLast, o.gap]).toEqual([99, 104.5, 5.5])
    expect(o.span).toEqual({ from: 1000, to: 4000 })
  })

  test('missing curves and trailing gaps', () => {
    const o = overlaySeries(null, { times: [1000, 2000], values: [5, null] })
    expect(o.actual).toEqual([])
    expect(o.replayed).toEqual([{ time: 1, value: 5 }, { time: 2 }])
    expect([o.actualLast, o.replayedLast, o.gap]).toEqual([null, 5, null])
    expect(overlaySeries(undefined, undefined).span).toBeNull()
  })
})
