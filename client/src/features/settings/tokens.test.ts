import { describe, expect, test } from 'vitest'
import { expiresInDays, scopeLabel, tokenExamples, tokenState } from './tokens'

describe('tokenState', () => {
  const now = Date.parse('2025-01-10T00:00:00Z')
  test('a token without expiry or revocation is active', () => {
    expect(tokenState({ revokedAt: null, expiresAt: null }, now)).toEqual({ label: 'Active', tone: 'success', usable: true })
  })
  test('a token whose expiry has passed is expired, one in the future active', () => {
    expect(tokenState({ revokedAt: null, expiresAt: '2025-01-09T23:59:59Z' }, now).label).toBe('Expired')
    expect(tokenState({ revokedAt: null, expiresAt: '2025-01-10T00:00:00Z' }, now).usable).toBe(false)
    expect(tokenState({ revokedAt: null, expiresAt: '2025-02-01T00:00:00Z' }, now).label).toBe('Active')
  })
  test('revoked wins over expired', () => {
    expect(tokenState({ revokedAt: '2025-01-01T00:00:00Z', expiresAt: '2025-01-02T00:00:00Z' }, now)).toEqual({ label: 'Revoked', tone: 'neutral', usable: false })
  })
})

describe('expiresInDays', () => {
  test('the empty choice is "never", the others whole days', () => {
    expect(expiresInDays('')).toBeNull()
    expect(expiresInDays('30')).toBe(30)
    expect(expiresInDays('365')).toBe(365)
    expect(expiresInDays('1.5')).toBeNull()
  })
})

test('scopeLabel names both scopes', () => {
  expect(scopeLabel('READ')).toBe('Read only')
  expect(scopeLabel('READ_WRITE')).toBe('Read and write')
})

describe('tokenExamples', () => {
  test('curl posts to the origin\'s /graphql with the Bearer header', () => {
    const { url, curl } = tokenExamples('https://bt.example.com/', 'bt_pat_secret')
    expect(url).toBe('https://bt.example.com/graphql')
    expect(curl).toContain("export BACKTEST_TOKEN='bt_pat_secret'")
    expect(curl).toContain('curl -s https://bt.example.com/graphql \\')
    expect(curl).toContain('-H "Authorization: Bearer $BACKTEST_TOKEN"')
    expect(curl).toContain("-H 'Content-Type: application/json'")
    // the body is valid JSON holding a query
    const body = /-d '(.*)'$/m.exec(curl)?.[1]
    expect(JSON.parse(body!)).toEqual({ query: '{ me { email } backtests(first: 5) { totalCount } }' })
  })
  test('the GraphQL client example uses the same URL and header, the secret from the environment', () => {
    const { client } = tokenExamples('http://127.0.0.1:8000', 'bt_pat_secret')
    expect(client).toContain("url: 'http://127.0.0.1:8000/graphql'")
    expect(client).toContain('Authorization: `Bearer ${process.env.BACKTEST_TOKEN}`')
    expect(client).not.toContain('bt_pat_secret')
  })
  test('without a new token, a placeholder stands for the secret', () => {
    expect(tokenExamples('http://x').curl).toContain("export BACKTEST_TOKEN='bt_pat_…'")
  })
})
