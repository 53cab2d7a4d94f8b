import { describe, expect, test } from 'vitest'
import { fetchedOf, importInput, parseSymbols, tradesText, utcDay } from './exchangeImport'

describe('parseSymbols', () => {
  test('commas or spaces, upper-cased, each once, in order', () => {
    expect(parseSymbols(' btc/usdt, ETH/USDT  btc/usdt;sol/usdt ')).toEqual({ symbols: ['BTC/USDT', 'ETH/USDT', 'SOL/USDT'], bad: [] })
    expect(parseSymbols('')).toEqual({ symbols: [], bad: [] })
  })
  test('a symbol that is not BASE/QUOTE is reported as typed', () => {
    expect(parseSymbols('BTC/USDT, ethusdt, /USDT')).toEqual({ symbols: ['BTC/USDT'], bad: ['ethusdt', '/USDT'] })
  })
})

describe('importInput', () => {
  const NOW = Date.parse('2024-06-30T12:00:00Z')
  const form = { keyId: 'RXhjaGFuZ2VLZXk6MQ==', symbols: 'btc/usdt, eth/usdt', from: '2024-01-01', to: '2024-01-31', name: '  ' }

  test('the days are UTC and both included: end is the next midnight', () => {
    expect(importInput(form, NOW)).toEqual({
      input: { keyId: form.keyId, symbols: ['BTC/USDT', 'ETH/USDT'], start: '2024-01-01T00:00:00Z', end: '2024-02-01T00:00:00Z', name: null },
    })
    const one = importInput({ ...form, from: '2024-02-29', to: '2024-02-29', name: ' Jan ' }, NOW)
    expect(one).toEqual({ input: expect.objectContaining({ start: '2024-02-29T00:00:00Z', end: '2024-03-01T00:00:00Z', name: 'Jan' }) })
  })
  test('every problem is named on its field', () => {
    const r = importInput({ keyId: '', symbols: '', from: '', to: '' , name: '' }, NOW)
    expect('errors' in r && Object.keys(r.errors).sort()).toEqual(['end', 'keyId', 'start', 'symbols'])
  })
  test('bad symbols, a reversed range and a future start', () => {
    const bad = importInput({ ...form, symbols: 'BTCUSDT' }, NOW)
    expect('errors' in bad && bad.errors.symbols).toContain('“BTCUSDT”')
    const reversed = importInput({ ...form, from: '2024-02-01', to: '2024-01-01' }, NOW)
    expect('errors' in reversed && reversed.errors.end).toMatch(/before the first/)
    const future = importInput({ ...form, from: '2024-07-02', to: '2024-07-03' }, NOW)
    expect('errors' in future && future.errors.start).toMatch(/future/)
  })
})

test('fetchedOf reads the job event’s count when it has one', () => {
  expect(fetchedOf({ nFetched: 12 })).toBe(12)
  expect(fetchedOf({ fetched: 3 })).toBe(3)
  expect(fetchedOf({ fetched: 'x' })).toBeNull()
  expect(fetchedOf(null)).toBeNull()
})

test('tradesText and utcDay', () => {
  expect(tradesText(1)).toBe('1 trade fetched')
  expect(tradesText(1234)).toBe('1,234 trades fetched')
  expect(utcDay(Date.parse('2024-03-05T23:59:59Z'))).toBe('2024-03-05')
})
