import { describe, expect, test } from 'vitest'
import { fieldErrors, safeRedirect } from './problems'

describe('fieldErrors', () => {
  test('maps input paths onto fields, the rest to the form', () => {
    expect(
      fieldErrors(
        [
          { path: 'input.password', message: 'Too short.' },
          { path: 'input.password', message: 'Too common.' },
          { path: 'input.email', message: 'Not an email.' },
          { path: 'input.displayName', message: 'use at most 100 characters' },
        ],
        ['email', 'password'] as const,
      ),
    ).toEqual({ password: 'Too short. Too common.', email: 'Not an email.', form: 'Use at most 100 characters.' })
  })
  test('no problems, no errors', () => {
    expect(fieldErrors([], ['email'] as const)).toEqual({})
  })
})

describe('safeRedirect', () => {
  test.each([
    ['/backtests/12?tab=trades', '/backtests/12?tab=trades'],
    [['/settings'], '/settings'],
    ['//evil.example.com', '/'],
    ['/\\evil.example.com', '/'],
    ['https://evil.example.com', '/'],
    ['/sign-in', '/'],
    [undefined, '/'],
  ])('%j -> %s', (value, expected) => {
    expect(safeRedirect(value)).toBe(expected)
  })
})
