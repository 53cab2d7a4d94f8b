import { describe, expect, test } from 'vitest'
import { parseRerun, pick, rerunQuery } from './listActions'

const backtest = {
  strategyId: 'U3RyYXRlZ3k6Nw==',
  exchange: 'demo',
  symbol: 'DEMO/USDT',
  timeframe: '1h',
  from: '2024-01-01T00:00:00+00:00',
  to: '2024-03-01T00:00:00+00:00',
  initialCapital: 2500,
  params: { fast: 12, slow: 40.5, label: 'x' },
}

describe('rerun with changes', () => {
  test("the form's query holds the strategy version, market, days, capital and parameters", () => {
    expect(rerunQuery(backtest)).toEqual({
      strategy: 'U3RyYXRlZ3k6Nw==',
      exchange: 'demo',
      symbol: 'DEMO/USDT',
      timeframe: '1h',
      from: '2024-01-01',
      to: '2024-03-01',
      capital: '2500',
      'p.fast': '12',
      'p.slow': '40.5',
    })
  })
  test('a range ending inside a day ends after that day (the form takes whole days)', () => {
    expect(rerunQuery({ ...backtest, to: '2024-03-01T13:00:00Z' }).to).toBe('2024-03-02')
  })
  test('read back: what the form starts from', () => {
    expect(parseRerun(rerunQuery(backtest))).toEqual({
      exchange: 'demo',
      symbol: 'DEMO/USDT',
      timeframe: '1h',
      from: '2024-01-01',
      to: '2024-03-01',
      capital: 2500,
      params: { fast: 12, slow: 40.5 },
    })
  })
  test('nothing to prefill without those keys (a plain ?strategy= link)', () => {
    expect(parseRerun({ strategy: 'S1' })).toBeNull()
    expect(parseRerun({ capital: 'abc', from: 'tomorrow' })).toBeNull()
  })
  test('pick: the wanted option when offered, else the first', () => {
    expect(pick(['a', 'b'], 'b')).toBe('b')
    expect(pick(['a', 'b'], 'c')).toBe('a')
    expect(pick([], 'a')).toBe('')
  })
})
