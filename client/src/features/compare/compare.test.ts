import { describe, expect, test } from 'vitest'
import type { BacktestSummaryFieldsFragment } from '@/graphql/generated/graphql'
import { COMPARE_METRICS, bestOf, differences, flatten, metricRows, normalise, parseIds, settingsOf } from './compare'

function summary(over: Partial<BacktestSummaryFieldsFragment>): BacktestSummaryFieldsFragment {
  const nulls = Object.fromEntries(COMPARE_METRICS.map((m) => [m.key, null])) as unknown as BacktestSummaryFieldsFragment
  return { ...nulls, ...over }
}

describe('bestOf', () => {
  test('higher is better: the highest value', () => {
    expect(bestOf([0.1, 0.3, -0.2], 'higher')).toEqual([1])
  })
  test('lower is better: the lowest value (drawdowns)', () => {
    expect(bestOf([0.25, 0.08, 0.4], 'lower')).toEqual([1])
  })
  test('ties are all marked', () => {
    expect(bestOf([2, 1, 2], 'higher')).toEqual([0, 2])
  })
  test('missing values are skipped, not counted as zero', () => {
    expect(bestOf([null, -0.5, undefined, -0.1], 'higher')).toEqual([3])
    expect(bestOf([null, 0.2, Number.NaN, 0.1], 'lower')).toEqual([3])
  })
  test('nothing is marked when all are equal, one has a value, or the metric has no direction', () => {
    expect(bestOf([1, 1, 1], 'higher')).toEqual([])
    expect(bestOf([null, 1], 'higher')).toEqual([])
    expect(bestOf([1, 5, 3], null)).toEqual([])
  })
  test('negative averages: the smaller loss is the better one', () => {
    const avgLoss = COMPARE_METRICS.find((m) => m.key === 'avgLoss')!
    expect(bestOf([-120, -40, -80], avgLoss.better)).toEqual([1])
  })
})

describe('metricRows', () => {
  const rows = metricRows([
    summary({ totalReturn: 0.12, maxDrawdown: 0.2, sharpe: 1.1, nTrades: 10 }),
    summary({ totalReturn: -0.05, maxDrawdown: 0.05, sharpe: 1.4, nTrades: 30 }),
    summary({ totalReturn: 0.3, maxDrawdown: 0.35, sharpe: null, nTrades: 20 }),
  ])
  const row = (key: string) => rows.find((r) => r.metric.key === key)!
  test('formats each cell as the backtest pages do', () => {
    expect(row('totalReturn').cells.map((c) => c.text)).toEqual(['+12.00 %', '-5.00 %', '+30.00 %'])
    expect(row('maxDrawdown').cells.map((c) => c.text)).toEqual(['20.00 %', '5.00 %', '35.00 %'])
    expect(row('sharpe').cells.map((c) => c.text)).toEqual(['1.10', '1.40', '–'])
  })
  test('marks the best in the direction of each metric', () => {
    expect(row('totalReturn').cells.map((c) => c.best)).toEqual([false, false, true])
    expect(row('maxDrawdown').cells.map((c) => c.best)).toEqual([false, true, false])
    expect(row('sharpe').cells.map((c) => c.best)).toEqual([false, true, false])
    expect(row('nTrades').cells.map((c) => c.best)).toEqual([false, false, false])
  })
  test('a row per metric, in order', () => {
    expect(rows.map((r) => r.metric.key)).toEqual(COMPARE_METRICS.map((m) => m.key))
  })
})

describe('normalise', () => {
  test('rebases to 100 at the first value', () => {
    expect(normalise({ times: [1, 2, 3], values: [10_000, 12_000, 9_000] }).values).toEqual([100, 120, 90])
  })
  test('starts at the first finite value; nulls stay null', () => {
    expect(normalise({ times: [1, 2, 3, 4], values: [null, 50, null, 75] }).values).toEqual([null, 100, null, 150])
  })
  test('a curve starting at zero cannot be rebased', () => {
    expect(normalise({ times: [1, 2], values: [0, 5] }).values).toEqual([null, null])
  })
  test('keeps the times', () => {
    const times = [5, 6]
    expect(normalise({ times, values: [2, 3] }).times).toBe(times)
  })
})

describe('flatten and differences', () => {
  test('flattens nested documents to dotted paths', () => {
    expect(flatten({ a: 1, risk: { stop: { value: 0.02 } }, entry: { all: [{ op: 'gt' }, { op: 'lt' }] }, tags: [], meta: {} })).toEqual({
      a: '1',
      'risk.stop.value': '0.02',
      'entry.all[0].op': 'gt',
      'entry.all[1].op': 'lt',
      tags: '[]',
      meta: '{}',
    })
  })
  test('keeps only what differs, and counts what is the same', () => {
    const d = differences([flatten({ fast: 10, slow: 50 }), flatten({ fast: 20, slow: 50 }), flatten({ fast: 10, slow: 50 })])
    expect(d.rows).toEqual([{ path: 'fast', values: ['10', '20', '10'] }])
    expect(d.same).toBe(1)
  })
  test('a value missing from one run is a difference', () => {
    const d = differences([flatten({ risk: { stop: 0.02 } }), flatten({})])
    expect(d.rows).toEqual([{ path: 'risk.stop', values: ['0.02', '–'] }])
    expect(d.same).toBe(0)
  })
  test('identical runs have no differences', () => {
    const d = differences([flatten({ fast: 10 }), flatten({ fast: 10 })])
    expect(d).toEqual({ rows: [], same: 1 })
  })
  test('run settings: market, range and capital', () => {
    const base = { strategyName: 'SMA', exchange: 'demo', symbol: 'DEMO/USDT', timeframe: '1h', from: '2024-01-01T00:00:00Z', to: '2024-06-01T00:00:00Z', initialCapital: 10000, riskFreeRate: 0 }
    const d = differences([settingsOf(base), settingsOf({ ...base, timeframe: '4h', initialCapital: 5000 })])
    expect(d.rows).toEqual([
      { path: 'Market', values: ['demo · DEMO/USDT 1h', 'demo · DEMO/USDT 4h'] },
      { path: 'Initial capital', values: ['10,000.00', '5,000.00'] },
    ])
    expect(d.same).toBe(4)
  })
})

describe('parseIds', () => {
  test('comma-separated or repeated, unique, in order', () => {
    expect(parseIds('a,b, c,,a')).toEqual(['a', 'b', 'c'])
    expect(parseIds(['a', 'b,c', null])).toEqual(['a', 'b', 'c'])
    expect(parseIds(undefined)).toEqual([])
  })
})
