import { describe, expect, test } from 'vitest'
import { ROLES, ROLE_HINTS, canTradeAs, roleLabel } from './roles'

describe('roles', () => {
  test('labels every role, and says so for an unknown one', () => {
    expect(ROLES.map(roleLabel)).toEqual(['Viewer', 'Trader', 'Admin'])
    expect(roleLabel(null)).toBe('Unknown')
    expect(roleLabel('USER')).toBe('Unknown')
    for (const r of ROLES) expect(ROLE_HINTS[r]).not.toBe('')
  })

  test('traders and admins run and write; viewers only read', () => {
    expect(canTradeAs('VIEWER')).toBe(false)
    expect(canTradeAs('TRADER')).toBe(true)
    expect(canTradeAs('ADMIN')).toBe(true)
    expect(canTradeAs(undefined)).toBe(false)
  })
})
