import { expect, test } from 'vitest'
import { formatMarket, parseMarket, sameMarket } from './marketKey'

test('a market round-trips through its URL form', () => {
  const m = { exchange: 'binance', symbol: 'BTC/USDT', timeframe: '1m' }
  expect(formatMarket(m)).toBe('binance:BTC/USDT:1m')
  expect(parseMarket(formatMarket(m))).toEqual(m)
})

test('anything else is no market', () => {
  expect(parseMarket(undefined)).toBeNull()
  expect(parseMarket(['binance:BTC/USDT:1m'])).toBeNull()
  expect(parseMarket('binance:BTC/USDT')).toBeNull()
  expect(parseMarket('binance::1m')).toBeNull()
})

test('sameMarket', () => {
  const m = { exchange: 'binance', symbol: 'BTC/USDT', timeframe: '1m' }
  expect(sameMarket(m, { ...m })).toBe(true)
  expect(sameMarket(m, { ...m, timeframe: '1h' })).toBe(false)
  expect(sameMarket(m, null)).toBe(false)
})
