import { describe, expect, test } from 'vitest'
import { buildReplayInput, emptyReplayForm } from './form'
import { whatIf } from './format'

describe('buildReplayInput', () => {
  test('transactions: the market is needed', () => {
    const r = buildReplayInput({ ...emptyReplayForm(), timeframe: '' })
    expect(r.input).toBeNull()
    expect(Object.keys(r.errors).sort()).toEqual(['symbol', 'timeframe'])
  })

  test('transactions of one import, with a what-if', () => {
    const r = buildReplayInput({
      ...emptyReplayForm(),
      symbol: ' demo/usdt',
      exchange: 'demo',
      importIds: ['imp1'],
      fill: 'OPEN',
      customFee: true,
      feeBps: '7.5',
      slippageBps: '3',
      delayBars: '1',
      from: '2023-01-01',
      to: '2023-01-31',
      initialCapital: '5000',
    })
    expect(r.errors).toEqual({})
    expect(r.input).toEqual({
      symbol: 'DEMO/USDT',
      timeframe: '1h',
      exchange: 'demo',
      from: '2023-01-01T00:00:00.000Z',
      to: '2023-02-01T00:00:00.000Z',
      initialCapital: 5000,
      fill: 'OPEN',
      feeBps: 7.5,
      slippageBps: 3,
      delayBars: 1,
      importIds: ['imp1'],
    })
  })

  test('every import, the actual fees and the defaults', () => {
    const r = buildReplayInput({ ...emptyReplayForm(), symbol: 'BTC/USDT', feeBps: 'junk' })
    expect(r.input).toMatchObject({ importIds: null, feeBps: null, initialCapital: null, from: null, to: null, slippageBps: 0, delayBars: 0 })
    expect(r.input).not.toHaveProperty('backtestId')
  })

  test('a backtest: market fields may stay empty', () => {
    const r = buildReplayInput({ ...emptyReplayForm(), source: 'BACKTEST', backtestId: 'bt1', timeframe: '', importIds: ['x'] })
    expect(r.input).toMatchObject({ backtestId: 'bt1', symbol: null, timeframe: null, exchange: null })
    expect(r.input).not.toHaveProperty('importIds')
    expect(buildReplayInput({ ...emptyReplayForm(), source: 'BACKTEST' }).errors.backtestId).toBeTruthy()
  })

  test('a number input gives a number', () => {
    const state = { ...emptyReplayForm(), symbol: 'X/Y', delayBars: 2 as unknown as string }
    expect(buildReplayInput(state).input?.delayBars).toBe(2)
  })

  test('bad numbers are named at their fields', () => {
    const r = buildReplayInput({
      ...emptyReplayForm(),
      symbol: 'X/Y',
      customFee: true,
      feeBps: '-1',
      slippageBps: 'abc',
      delayBars: '1.5',
      initialCapital: '0',
      from: '2023-02-01',
      to: '2023-01-01',
    })
    expect(r.input).toBeNull()
    expect(Object.keys(r.errors).sort()).toEqual(['delayBars', 'feeBps', 'initialCapital', 'slippageBps', 'to'])
  })
})

describe('whatIf', () => {
  test('reads the model in words', () => {
    expect(whatIf({ fill: 'OPEN', feeBps: 5, slippageBps: 2.5, delayBars: 1 })).toBe('Bar open · fees 5 bps · slippage 2.50 bps · 1-bar delay')
    expect(whatIf({ fill: 'ACTUAL', feeBps: null, slippageBps: 0, delayBars: 0 })).toBe('Actual price · actual fees · slippage 0 bps · no delay')
  })
})
