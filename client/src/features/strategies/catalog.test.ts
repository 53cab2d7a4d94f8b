import { describe, expect, test } from 'vitest'
import { catalogFromSchema, describeBounds } from './catalog'
import { SCHEMA } from './testing/fixtures'

const catalog = catalogFromSchema(SCHEMA)

describe('catalogFromSchema', () => {
  test('reads every indicator with its parameters, bounds and defaults', () => {
    expect(catalog.indicators.map((i) => i.name)).toEqual(['sma', 'ema', 'wma', 'rsi', 'macd', 'bbands', 'atr', 'stoch', 'roc', 'vwap', 'donchian', 'obv', 'adx'])
    const sma = catalog.indicators.find((i) => i.name === 'sma')!
    expect(sma.title).toBe('Simple moving average')
    expect(sma.params).toEqual([expect.objectContaining({ name: 'period', default: 20, allowsParam: true, bounds: expect.objectContaining({ integer: true, minimum: 1, maximum: 1_000_000_000 }) })])
    expect(sma.choices.map((c) => c.name)).toEqual(['source', 'output'])
    expect(sma.choices[0]!.options).toContain('hlc3')
    expect(sma.barsAgo).toBe(true)
    const bb = catalog.indicators.find((i) => i.name === 'bbands')!
    expect(bb.params.map((p) => [p.name, p.default, p.bounds.integer])).toEqual([['period', 20, true], ['stddev', 2, false]])
    expect(bb.choices.find((c) => c.name === 'output')).toMatchObject({ options: ['middle', 'upper', 'lower'], default: 'middle' })
    expect(catalog.indicators.find((i) => i.name === 'obv')!.params).toEqual([])
  })

  test('reads operators, price fields and the document fields', () => {
    expect(catalog.operators).toEqual(['>', '<', '>=', '<=', 'crosses_above', 'crosses_below'])
    expect(catalog.priceFields).toEqual(['open', 'high', 'low', 'close', 'volume', 'hl2', 'hlc3', 'ohlc4'])
    expect(catalog.side).toMatchObject({ options: ['long', 'short'], default: 'long' })
    expect(catalog.sizingMode.options).toEqual(['fraction_of_equity', 'fixed_quote', 'risk_pct'])
    expect(catalog.stopLoss).toMatchObject({ nullable: true, allowsParam: true, bounds: { exclusiveMinimum: 0, exclusiveMaximum: 100 } })
    expect(catalog.initialCapital).toMatchObject({ default: 10000, nullable: false, allowsParam: false })
    expect(catalog.feeBps.default).toBe(10)
    expect(catalog.barsAgo.bounds).toMatchObject({ integer: true, minimum: 0 })
    expect(catalog.sizingValueByMode.fraction_of_equity).toMatchObject({ exclusiveMinimum: 0, maximum: 1 })
    expect(catalog.sizingValueByMode.risk_pct).toMatchObject({ maximum: 100 })
  })

  test('survives an empty or foreign schema', () => {
    const empty = catalogFromSchema({})
    expect(empty.indicators).toEqual([])
    expect(catalogFromSchema(null).operators).toEqual([])
  })

  test('describes bounds', () => {
    expect(describeBounds({ integer: true, minimum: 1, maximum: 1e9 })).toBe('integer, ≥ 1 and ≤ 1,000,000,000')
    expect(describeBounds({ integer: false, exclusiveMinimum: 0, exclusiveMaximum: 100 })).toBe('number, > 0 and < 100')
  })
})
