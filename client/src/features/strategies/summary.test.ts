import { describe, expect, test } from 'vitest'
import { catalogFromSchema } from './catalog'
import { describeCondition, summarize } from './summary'
import { example, SCHEMA } from './testing/fixtures'

const catalog = catalogFromSchema(SCHEMA)

describe('summarize', () => {
  test('an SMA crossover with constants', () => {
    const doc = {
      name: 'x',
      entry: { left: { indicator: 'sma', period: 10 }, op: 'crosses_above', right: { indicator: 'sma', period: 50 } },
      exit: { left: { indicator: 'sma', period: 10 }, op: 'crosses_below', right: { indicator: 'sma', period: 50 } },
    }
    expect(summarize(doc, catalog)).toEqual([
      'Enter long when SMA(10) crosses above SMA(50).',
      'Exit when SMA(10) crosses below SMA(50).',
      'Each trade uses 100% of equity.',
      'Costs: fees of 10 bps per fill and 0 bps of slippage.',
      'Starts with 10,000 of capital.',
    ])
  })

  test('the examples', () => {
    expect(summarize(example('sma_crossover'), catalog).slice(0, 2)).toEqual([
      'Enter long when SMA(fast = 10) crosses above SMA(slow = 50).',
      'Exit when SMA(fast = 10) crosses below SMA(slow = 50).',
    ])
    expect(summarize(example('bollinger_breakout'), catalog).slice(0, 4)).toEqual([
      'Enter long when the close crosses above Bollinger Bands upper(period = 20, width = 2).',
      'Exit when the close crosses below Bollinger Bands(period = 20, width = 2).',
      'Also closes at a stop-loss at 3% (stop) or a take-profit at 8% from the entry price.',
      'Each trade uses 50% of equity.',
    ])
    expect(summarize(example('donchian_short'), catalog).slice(0, 4)).toEqual([
      'Enter short when the close is below Donchian lower(entry_period = 20) 1 bar ago and EMA(20) is below EMA(100).',
      'Exit when the close is above Donchian(exit_period = 10) 1 bar ago.',
      'Also closes at a stop-loss at 4% or a trailing stop at 2% from the entry price.',
      'Each trade risks 1% of equity at the stop-loss.',
    ])
    expect(summarize(example('rsi_mean_reversion'), catalog)[1]).toBe(
      'Exit when RSI(rsi_period = 14) crosses above 70 (overbought) or RSI(rsi_period = 14) crosses below 30 (oversold).',
    )
  })

  test('nested groups, not, defaults and the unreadable', () => {
    const ctx = { params: {}, catalog }
    expect(describeCondition({ all: [{ any: [{ left: { price: 'hl2' }, op: '>=', right: 1 }, { left: { price: 'close', bars_ago: 2 }, op: '<=', right: { value: 3 } }] }, { not: { left: { indicator: 'ema' }, op: '<', right: { indicator: 'sma', source: 'high' } } }] }, ctx))
      .toBe('(the (high + low) / 2 is at or above 1 or the close 2 bars ago is at or below 3) and not (EMA(20) is below SMA(20, high))')
    expect(describeCondition({ all: [] }, ctx)).toBe('(an empty "all" group)')
    expect(describeCondition(7, ctx)).toBe('(an unreadable condition)')
    expect(summarize([], catalog)).toEqual(['This is not a strategy document (a JSON object).'])
    expect(summarize({ side: 'short' })).toEqual(['No entry rule yet (short).', 'No exit rule.', 'Each trade uses 100% of equity.'])
  })
})
