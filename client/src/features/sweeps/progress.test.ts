import { describe, expect, test } from 'vitest'
import { reduceSweepProgress } from './progress'

describe('sweep progress', () => {
  test('keeps the sets done, ignores stale events, ends on the terminal one', () => {
    let s = reduceSweepProgress(undefined, { seq: 1, kind: 'status', status: 'QUEUED', stage: 'QUEUED', progress: 0 })
    expect(s).toMatchObject({ status: 'QUEUED', done: null, total: null, ended: false })
    s = reduceSweepProgress(s, { seq: 3, kind: 'progress', status: 'RUNNING', stage: 'COMPUTING', progress: 0.5, done: 6, total: 12 })
    expect(s).toMatchObject({ progress: 0.5, done: 6, total: 12 })
    const stale = reduceSweepProgress(s, { seq: 2, kind: 'progress', status: 'RUNNING', progress: 0.25, done: 3, total: 12 })
    expect(stale).toBe(s)
    s = reduceSweepProgress(s, { seq: 4, kind: 'done', status: 'SUCCEEDED', stage: 'DONE', progress: 1 })
    expect(s).toMatchObject({ progress: 1, done: 12, total: 12, ended: true, status: 'SUCCEEDED' })
  })
})
