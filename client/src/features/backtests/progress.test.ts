import { describe, expect, test } from 'vitest'
import { reduceProgress, type ProgressEvent } from './progress'

const ev = (seq: number, kind: string, progress: number, extra: Partial<ProgressEvent> = {}): ProgressEvent => ({
  seq,
  kind,
  status: kind === 'done' ? 'SUCCEEDED' : kind === 'cancelled' ? 'CANCELLED' : kind === 'error' ? 'FAILED' : 'RUNNING',
  stage: 'COMPUTING',
  progress,
  ...extra,
})

describe('reduceProgress', () => {
  test('the first event is the current state', () => {
    const s = reduceProgress(undefined, ev(3, 'status', 0.4, { eta: 5 }))
    expect(s).toMatchObject({ seq: 3, status: 'RUNNING', progress: 0.4, eta: 5, ended: false })
  })

  test('takes newer seqs only; the equity replaces the previous curve', () => {
    let s = reduceProgress(undefined, ev(1, 'progress', 0.1, { equity: { times: [1], values: [100] } }))
    s = reduceProgress(s, ev(2, 'progress', 0.5, { equity: { times: [1, 2], values: [100, 110] } }))
    expect(s.equity?.values).toEqual([100, 110])
    const stale = reduceProgress(s, ev(2, 'progress', 0.3))
    expect(stale).toBe(s)
    expect(reduceProgress(s, ev(1, 'progress', 0.2))).toBe(s)
    // an event without equity keeps the curve
    expect(reduceProgress(s, ev(3, 'status', 0.6)).equity?.values).toEqual([100, 110])
  })

  test('a terminal event is taken whatever its seq, and nothing after it', () => {
    let s = reduceProgress(undefined, ev(5, 'progress', 0.9, { eta: 1 }))
    s = reduceProgress(s, ev(4, 'done', 0.9))
    expect(s).toMatchObject({ ended: true, status: 'SUCCEEDED', progress: 1, eta: null })
    expect(reduceProgress(s, ev(9, 'progress', 0.1))).toBe(s)
  })

  test('cancelled and error end it too, with the error', () => {
    expect(reduceProgress(undefined, ev(2, 'cancelled', 0.3)).ended).toBe(true)
    const e = reduceProgress(undefined, ev(2, 'error', 0.3, { error: 'boom' }))
    expect(e).toMatchObject({ ended: true, status: 'FAILED', error: 'boom' })
  })

  test('a first event of an ended run ends it', () => {
    expect(reduceProgress(undefined, ev(7, 'status', 1, { status: 'SUCCEEDED' })).ended).toBe(true)
  })
})
