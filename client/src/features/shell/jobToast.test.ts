import { describe, expect, test } from 'vitest'
import { jobLink } from './jobToast'

describe('jobLink', () => {
  test("each kind's page", () => {
    expect(jobLink({ jobKind: 'BACKTEST', jobId: 'QmFja3Rlc3Q6MQ==' })).toBe('/backtests/QmFja3Rlc3Q6MQ%3D%3D')
    expect(jobLink({ jobKind: 'SWEEP', jobId: 'U3dlZXA6Mg==' })).toBe('/sweeps/U3dlZXA6Mg%3D%3D')
    expect(jobLink({ jobKind: 'REPLAY', jobId: 'UmVwbGF5OjQ=' })).toBe('/replays/UmVwbGF5OjQ%3D')
    expect(jobLink({ jobKind: 'SYNC', jobId: 'U3luY0pvYjox' })).toBe('/market')
  })
})
