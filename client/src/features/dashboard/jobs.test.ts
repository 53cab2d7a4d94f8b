import { describe, expect, test } from 'vitest'
import type { DashboardJobFragment } from '@/graphql/generated/graphql'
import { applyJobEvent, jobLink, jobMarket, jobTitle, jobView, orderJobs, type JobEvent, type JobView, type LiveJob } from './jobs'

const base = { progress: 0, eta: null, createdAt: '2025-01-01T00:00:00Z', startedAt: null, stage: 'QUEUED', status: 'QUEUED' } as const
const backtest: DashboardJobFragment = { __typename: 'Backtest', id: 'QmFja3Rlc3Q6MQ==', kind: 'BACKTEST', ...base, strategyName: 'SMA crossover', symbol: 'DEMO/USDT', timeframe: '1h' }
const sweep: DashboardJobFragment = { __typename: 'Sweep', id: 'U3dlZXA6Mg==', kind: 'SWEEP', ...base, nCombinations: 40000, symbol: 'BTC/USDT', timeframe: '4h' }
const sync: DashboardJobFragment = { __typename: 'SyncJob', id: 'U3luY0pvYjoz', kind: 'SYNC', ...base, exchange: 'binance', symbol: 'ETH/USDT', timeframe: '1m', stored: 10 }
const replay: DashboardJobFragment = { __typename: 'Replay', id: 'UmVwbGF5OjQ=', kind: 'REPLAY', ...base, source: 'TRANSACTIONS', symbol: 'BTC/USDT', timeframe: '1h' }

function event(over: Partial<JobEvent>): JobEvent {
  return { jobKind: 'BACKTEST', jobId: backtest.id, jobSeq: 1, kind: 'progress', status: 'RUNNING', stage: 'COMPUTING', progress: 0.1, eta: 5, error: null, ...over }
}

describe('what a job is', () => {
  test('titles name the strategy, the sweep size, the exchange or the source', () => {
    expect(jobTitle(backtest)).toBe('SMA crossover')
    expect(jobTitle(sweep)).toBe('40,000 parameter sets')
    expect(jobTitle(sync)).toBe('binance candles')
    expect(jobTitle(replay)).toBe('Your transactions')
    expect(jobTitle({ ...replay, source: 'BACKTEST' } as DashboardJobFragment)).toBe('A backtest’s trades')
  })
  test('markets and links', () => {
    expect(jobMarket(sweep)).toBe('BTC/USDT · 4h')
    expect(jobLink(backtest)).toBe('/backtests/QmFja3Rlc3Q6MQ%3D%3D')
    expect(jobLink(sweep)).toBe('/sweeps/U3dlZXA6Mg%3D%3D')
    expect(jobLink(replay)).toBe('/replays/UmVwbGF5OjQ%3D')
    expect(jobLink(sync)).toBe('/market')
  })
})

describe('applyJobEvent', () => {
  const empty: ReadonlyMap<string, LiveJob> = new Map()
  test('the first event of a job is taken', () => {
    const live = applyJobEvent(empty, event({}))
    expect(live.get(backtest.id)).toEqual({ seq: 1, status: 'RUNNING', stage: 'COMPUTING', progress: 0.1, eta: 5, error: null, ended: false })
  })
  test('an older or repeated event changes nothing (the same map)', () => {
    const live = applyJobEvent(empty, event({ jobSeq: 3, progress: 0.3 }))
    expect(applyJobEvent(live, event({ jobSeq: 2, progress: 0.2 }))).toBe(live)
    expect(applyJobEvent(live, event({ jobSeq: 3, progress: 0.2 }))).toBe(live)
    expect(applyJobEvent(live, event({ jobSeq: 4, progress: 0.4 })).get(backtest.id)?.progress).toBe(0.4)
  })
  test('a terminal event is taken whatever its seq, and the job then keeps it', () => {
    let live = applyJobEvent(empty, event({ jobSeq: 5, progress: 0.5 }))
    live = applyJobEvent(live, event({ jobSeq: 4, kind: 'cancelled', status: 'CANCELLED', stage: 'DONE', progress: 0.5 }))
    expect(live.get(backtest.id)).toMatchObject({ status: 'CANCELLED', ended: true, eta: null })
    expect(applyJobEvent(live, event({ jobSeq: 9, progress: 0.9 }))).toBe(live)
  })
  test('done means 100 %; a missing stage keeps the previous one', () => {
    let live = applyJobEvent(empty, event({ jobSeq: 1, stage: 'COMPUTING' }))
    live = applyJobEvent(live, event({ jobSeq: 2, stage: null, progress: 0.7 }))
    expect(live.get(backtest.id)?.stage).toBe('COMPUTING')
    live = applyJobEvent(live, event({ jobSeq: 3, kind: 'done', status: 'SUCCEEDED', progress: 0.98 }))
    expect(live.get(backtest.id)).toMatchObject({ progress: 1, ended: true })
  })
  test('jobs are kept apart', () => {
    let live = applyJobEvent(empty, event({ jobSeq: 7 }))
    live = applyJobEvent(live, event({ jobId: sweep.id, jobKind: 'SWEEP', jobSeq: 1, progress: 0.02 }))
    expect(live.size).toBe(2)
    expect(live.get(sweep.id)?.progress).toBe(0.02)
  })
})

describe('jobView', () => {
  test('without events: the listed job', () => {
    expect(jobView({ ...sweep, status: 'RUNNING', stage: 'COMPUTING', progress: 0.256, eta: 12 }, undefined)).toMatchObject({
      kindLabel: 'Sweep',
      title: '40,000 parameter sets',
      status: 'RUNNING',
      percent: 25,
      eta: 12,
      ended: false,
    })
  })
  test('the live state wins', () => {
    const live: LiveJob = { seq: 4, status: 'CANCELLED', stage: 'DONE', progress: 0.4, eta: null, error: null, ended: true }
    expect(jobView({ ...backtest, status: 'RUNNING', progress: 0.1, eta: 9 }, live)).toMatchObject({ status: 'CANCELLED', stage: 'DONE', percent: 40, eta: null, ended: true })
  })
})

test('orderJobs: running, then queued, then ended; the server\'s order (newest first) within each', () => {
  const view = (id: string, status: JobView['status']): JobView => ({ ...jobView(backtest, undefined), id, status })
  const ordered = orderJobs([view('q1', 'QUEUED'), view('c', 'CANCELLED'), view('r1', 'RUNNING'), view('q2', 'QUEUED'), view('r2', 'RUNNING')])
  expect(ordered.map((j) => j.id)).toEqual(['r1', 'r2', 'q1', 'q2', 'c'])
})
