import { describe, expect, test } from 'vitest'
import { reduceSync, syncField, type SyncEvent } from './syncProgress'

const ev = (seq: number, kind: string, extra: Partial<SyncEvent> = {}): SyncEvent => ({
  seq,
  kind,
  status: 'RUNNING',
  progress: seq / 10,
  stored: seq * 100,
  ...extra,
})

describe('reduceSync', () => {
  test('takes newer events and ignores repeated or older ones', () => {
    let s = reduceSync(undefined, ev(1, 'status', { status: 'QUEUED', progress: 0, stored: 0 }))
    expect(s).toMatchObject({ seq: 1, status: 'QUEUED', ended: false })
    s = reduceSync(s, ev(3, 'progress', { pages: 2, eta: 4 }))
    expect(s).toMatchObject({ seq: 3, progress: 0.3, stored: 300, pages: 2, eta: 4 })
    expect(reduceSync(s, ev(2, 'progress'))).toBe(s)
    expect(reduceSync(s, ev(3, 'progress'))).toBe(s)
  })
  test('a terminal event wins whatever its seq, and ends the state', () => {
    let s = reduceSync(undefined, ev(5, 'progress'))
    s = reduceSync(s, ev(0, 'done', { status: 'SUCCEEDED', progress: 0.99, stored: 3500 }))
    expect(s).toMatchObject({ status: 'SUCCEEDED', progress: 1, stored: 3500, eta: null, ended: true })
    expect(reduceSync(s, ev(9, 'progress'))).toBe(s)
  })
  test('keeps the error of a failed job', () => {
    const s = reduceSync(undefined, ev(2, 'error', { status: 'FAILED', error: 'unknown symbol' }))
    expect(s).toMatchObject({ ended: true, error: 'unknown symbol', status: 'FAILED' })
  })
  test('a first event of an ended job ends the state', () => {
    expect(reduceSync(undefined, ev(7, 'status', { status: 'CANCELLED' })).ended).toBe(true)
  })
})

test('syncField', () => {
  expect(syncField('input.symbol')).toBe('symbol')
  expect(syncField('input.since')).toBe('since')
  expect(syncField('quota')).toBe('form')
})
