// The audit log page's view (filters and page position) as the URL's query, and as the API's
// variables. Pure: a link reproduces the view; the server filters and pages (newest first).
import type { AuditLogQueryVariables } from '@/graphql/generated/graphql'

export const AUDIT_PAGE_SIZE = 25

export const OUTCOMES = ['ok', 'denied', 'failed'] as const
export type Outcome = (typeof OUTCOMES)[number]

export interface AuditView {
  /** An action name, e.g. auth.login. */
  action: string | null
  /** Part of the actor's email. */
  user: string | null
  outcome: Outcome | null
  /** On or after this UTC day (YYYY-MM-DD). */
  from: string | null
  /** On or before this UTC day (inclusive; the API's bound is the next day). */
  to: string | null
  after: string | null
  before: string | null
}

export const EMPTY_AUDIT_VIEW: AuditView = { action: null, user: null, outcome: null, from: null, to: null, after: null, before: null }

type QueryValue = string | null | (string | null)[] | undefined

function one(v: QueryValue): string | null {
  const s = Array.isArray(v) ? v[0] : v
  return typeof s === 'string' && s.trim() !== '' ? s.trim() : null
}

const DAY = /^\d{4}-\d{2}-\d{2}$/

function day(v: QueryValue): string | null {
  const s = one(v)
  return s !== null && DAY.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) ? s : null
}

/** The view of a route query; unknown or malformed values are dropped. */
export function parseAuditQuery(query: Record<string, QueryValue>): AuditView {
  const outcome = one(query.outcome)?.toLowerCase() ?? null
  const after = one(query.after)
  return {
    action: one(query.action),
    user: one(query.user),
    outcome: outcome !== null && (OUTCOMES as readonly string[]).includes(outcome) ? (outcome as Outcome) : null,
    from: day(query.from),
    to: day(query.to),
    after,
    before: after === null ? one(query.before) : null,
  }
}

/** The route query of a view: only the values set. */
export function toAuditRouteQuery(view: AuditView): Record<string, string> {
  const q: Record<string, string> = {}
  if (view.action) q.action = view.action
  if (view.user) q.user = view.user
  if (view.outcome) q.outcome = view.outcome
  if (view.from) q.from = view.from
  if (view.to) q.to = view.to
  if (view.after) q.after = view.after
  else if (view.before) q.before = view.before
  return q
}

function nextDay(d: string): string {
  const t = new Date(`${d}T00:00:00Z`)
  t.setUTCDate(t.getUTCDate() + 1)
  return t.toISOString()
}

/** The API's variables for a view: the filter and a keyset page of `size`. */
export function toAuditVariables(view: AuditView, size = AUDIT_PAGE_SIZE): AuditLogQueryVariables {
  const filter: NonNullable<AuditLogQueryVariables['filter']> = {}
  if (view.action) filter.action = view.action
  if (view.user) filter.actorEmail = view.user
  if (view.outcome) filter.outcome = view.outcome
  if (view.from) filter.since = `${view.from}T00:00:00.000Z`
  if (view.to) filter.until = nextDay(view.to)
  const page = view.before ? { last: size, before: view.before } : { first: size, after: view.after }
  return { filter: Object.keys(filter).length ? filter : null, ...page }
}

export function isAuditFiltered(view: AuditView): boolean {
  return Boolean(view.action || view.user || view.outcome || view.from || view.to)
}

/** Whether the dates are the wrong way round (the API would refuse them). */
export function datesReversed(view: Pick<AuditView, 'from' | 'to'>): boolean {
  return view.from !== null && view.to !== null && view.from > view.to
}

/** A short sentence of an entry's details, for the table (never a secret: the log holds none). */
export function describeDetails(details: unknown): string {
  if (!details || typeof details !== 'object') return ''
  return Object.entries(details as Record<string, unknown>)
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' · ')
}
