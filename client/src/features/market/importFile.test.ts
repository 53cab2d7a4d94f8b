import { describe, expect, test } from 'vitest'
import { acceptedFile, fileSize, guessFromFileName, splitMarketId } from './importFile'

describe('guessFromFileName', () => {
  test('reads a Binance kline dump name', () => {
    expect(guessFromFileName('BTCUSDT-1m-2024-01.zip')).toEqual({ symbol: 'BTC/USDT', timeframe: '1m' })
    expect(guessFromFileName('ETHBTC-4h-2023-12-31.csv')).toEqual({ symbol: 'ETH/BTC', timeframe: '4h' })
    expect(guessFromFileName('C:\\data\\SOLFDUSD-1d-2024.csv')).toEqual({ symbol: 'SOL/FDUSD', timeframe: '1d' })
  })
  test('an unknown timeframe or quote is left for the user', () => {
    expect(guessFromFileName('BTCUSDT-7m-2024-01.csv')).toEqual({ symbol: 'BTC/USDT', timeframe: null })
    expect(guessFromFileName('ABCXYZ-1h-2024-01.csv')).toEqual({ symbol: null, timeframe: '1h' })
  })
  test('other names give nothing', () => {
    expect(guessFromFileName('candles.csv')).toEqual({ symbol: null, timeframe: null })
  })
})

test('splitMarketId', () => {
  expect(splitMarketId('bnbusdt')).toBe('BNB/USDT')
  expect(splitMarketId('USDT')).toBeNull()
})

test('acceptedFile', () => {
  expect(acceptedFile('a.CSV')).toBe(true)
  expect(acceptedFile('a.zip')).toBe(true)
  expect(acceptedFile('a.xlsx')).toBe(false)
})

test('fileSize', () => {
  expect(fileSize(1)).toBe('1 byte')
  expect(fileSize(830_400)).toBe('830 kB')
  expect(fileSize(1_250_000)).toBe('1.3 MB')
})
