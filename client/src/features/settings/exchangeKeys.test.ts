import { describe, expect, test } from 'vitest'
import { exchangeLabel, keyFormErrors, testResult } from './exchangeKeys'

const GOOD = { exchange: 'binance', label: 'Main', apiKey: 'abcDEF123', apiSecret: 's3cr3t' }

describe('keyFormErrors', () => {
  test('a complete form has no errors', () => {
    expect(keyFormErrors(GOOD)).toEqual({})
    expect(keyFormErrors({ ...GOOD, apiKey: '  abcDEF123\n' })).toEqual({})
  })
  test('each missing field is named', () => {
    const e = keyFormErrors({ exchange: 'binance', label: ' ', apiKey: '', apiSecret: '' })
    expect(Object.keys(e).sort()).toEqual(['apiKey', 'apiSecret', 'label'])
    expect(e.label).toMatch(/label/)
    expect(e.apiSecret).toMatch(/secret/)
  })
  test('a key or secret with spaces inside was pasted badly', () => {
    expect(keyFormErrors({ ...GOOD, apiKey: 'abc def' }).apiKey).toMatch(/no spaces/)
    expect(keyFormErrors({ ...GOOD, apiSecret: 'abc\tdef' }).apiSecret).toMatch(/no spaces/)
  })
  test('a label of more than 100 characters is refused', () => {
    expect(keyFormErrors({ ...GOOD, label: 'x'.repeat(101) }).label).toMatch(/100/)
    expect(keyFormErrors({ ...GOOD, label: 'x'.repeat(100) })).toEqual({})
  })
})

describe('testResult', () => {
  test('a title, then the API’s message as a sentence', () => {
    expect(testResult(true, 'connected: the key can read the binance account (1 asset(s) with a balance)')).toEqual({
      tone: 'success',
      title: 'Connection works.',
      detail: 'Connected: the key can read the binance account (1 asset(s) with a balance).',
    })
    expect(testResult(false, 'binance refused the API key: it is wrong')).toEqual({
      tone: 'error',
      title: 'Connection failed.',
      detail: 'Binance refused the API key: it is wrong.',
    })
    expect(testResult(false, '  ').detail).toBe('The exchange did not say why.')
  })
})

test('exchangeLabel names known exchanges and passes others through', () => {
  expect(exchangeLabel('binance')).toBe('Binance')
  expect(exchangeLabel('kraken')).toBe('kraken')
})
