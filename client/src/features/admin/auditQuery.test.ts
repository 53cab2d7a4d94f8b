import { describe, expect, test } from 'vitest'
import { EMPTY_AUDIT_VIEW, datesReversed, describeDetails, isAuditFiltered, parseAuditQuery, toAuditRouteQuery, toAuditVariables } from './auditQuery'

describe('audit log view', () => {
  test('parses the URL, dropping what is malformed', () => {
    const view = parseAuditQuery({ action: 'auth.login', user: ' ann@ ', outcome: 'DENIED', from: '2026-01-02', to: 'yesterday', after: 'abc', before: 'x' })
    expect(view).toEqual({ action: 'auth.login', user: 'ann@', outcome: 'denied', from: '2026-01-02', to: null, after: 'abc', before: null })
    expect(parseAuditQuery({ outcome: 'maybe' }).outcome).toBeNull()
    expect(parseAuditQuery({})).toEqual(EMPTY_AUDIT_VIEW)
  })

  test('round-trips through the route query', () => {
    const view = { ...EMPTY_AUDIT_VIEW, action: 'user.role_change', outcome: 'ok' as const, to: '2026-03-01', before: 'c1' }
    expect(toAuditRouteQuery(view)).toEqual({ action: 'user.role_change', outcome: 'ok', to: '2026-03-01', before: 'c1' })
    expect(parseAuditQuery(toAuditRouteQuery(view))).toEqual(view)
  })

  test('makes the API variables: the last day inclusive, keyset pages both ways', () => {
    const vars = toAuditVariables({ ...EMPTY_AUDIT_VIEW, user: 'bob', from: '2026-02-28', to: '2026-02-28' }, 10)
    expect(vars).toEqual({ filter: { actorEmail: 'bob', since: '2026-02-28T00:00:00.000Z', until: '2026-03-01T00:00:00.000Z' }, first: 10, after: null })
    expect(toAuditVariables({ ...EMPTY_AUDIT_VIEW, before: 'c' }, 5)).toEqual({ filter: null, last: 5, before: 'c' })
  })

  test('filters, reversed dates and details', () => {
    expect(isAuditFiltered(EMPTY_AUDIT_VIEW)).toBe(false)
    expect(isAuditFiltered({ ...EMPTY_AUDIT_VIEW, outcome: 'failed' })).toBe(true)
    expect(datesReversed({ from: '2026-02-02', to: '2026-02-01' })).toBe(true)
    expect(datesReversed({ from: '2026-02-01', to: null })).toBe(false)
    expect(describeDetails({ from: 'trader', to: 'viewer', active: false })).toBe('from: trader · to: viewer · active: false')
    expect(describeDetails(null)).toBe('')
  })
})
