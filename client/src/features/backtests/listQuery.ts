// The backtests list's view (filters, sort and page position) as the URL's query, and as the
// API's variables. Pure: a link reproduces the view, the server does the filtering and sorting.
import type { BacktestListQueryVariables, BacktestSortField, RunStatus } from '@/graphql/generated/graphql'

export const PAGE_SIZE = 20

export const STATUSES: readonly RunStatus[] = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED']

export type SortKey = 'created' | 'return' | 'sharpe' | 'drawdown'
export type SortDir = 'asc' | 'desc'

const SORT_FIELD: Record<SortKey, BacktestSortField> = {
  created: 'CREATED',
  return: 'TOTAL_RETURN',
  sharpe: 'SHARPE',
  drawdown: 'MAX_DRAWDOWN',
}

/** The sort choices as the list offers them (the default first). */
export const SORTS: readonly { key: SortKey; dir: SortDir; label: string }[] = [
  { key: 'created', dir: 'desc', label: 'Newest first' },
  { key: 'created', dir: 'asc', label: 'Oldest first' },
  { key: 'return', dir: 'desc', label: 'Highest return' },
  { key: 'return', dir: 'asc', label: 'Lowest return' },
  { key: 'sharpe', dir: 'desc', label: 'Highest Sharpe' },
  { key: 'sharpe', dir: 'asc', label: 'Lowest Sharpe' },
  { key: 'drawdown', dir: 'asc', label: 'Smallest max drawdown' },
  { key: 'drawdown', dir: 'desc', label: 'Largest max drawdown' },
]

export interface ListView {
  status: RunStatus | null
  symbol: string | null
  /** A strategy version's id. */
  strategy: string | null
  /** Created on or after this UTC day (YYYY-MM-DD). */
  from: string | null
  /** Created on or before this UTC day (inclusive; the API's bound is the next day). */
  to: string | null
  sort: SortKey
  dir: SortDir
  /** Keyset cursors: the page after `after`, or the page before `before`. */
  after: string | null
  before: string | null
}

export const DEFAULT_VIEW: ListView = {
  status: null,
  symbol: null,
  strategy: null,
  from: null,
  to: null,
  sort: 'created',
  dir: 'desc',
  after: null,
  before: null,
}

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

/** The view of a route query; unknown or malformed values fall back to the defaults. */
export function parseListQuery(query: Record<string, QueryValue>): ListView {
  const status = one(query.status)?.toUpperCase() ?? null
  const sort = one(query.sort)
  const dir = one(query.dir)
  const after = one(query.after)
  return {
    status: status !== null && (STATUSES as readonly string[]).includes(status) ? (status as RunStatus) : null,
    symbol: one(query.symbol)?.toUpperCase() ?? null,
    strategy: one(query.strategy),
    from: day(query.from),
    to: day(query.to),
    sort: sort !== null && sort in SORT_FIELD ? (sort as SortKey) : DEFAULT_VIEW.sort,
    dir: dir === 'asc' || dir === 'desc' ? dir : sort !== null && sort in SORT_FIELD ? defaultDir(sort as SortKey) : DEFAULT_VIEW.dir,
    after,
    before: after === null ? one(query.before) : null,
  }
}

/** The natural direction of a sort: best first (lowest drawdown first, newest first). */
export function defaultDir(sort: SortKey): SortDir {
  return sort === 'drawdown' ? 'asc' : 'desc'
}

/** The route query of a view: only what differs from the defaults, so links stay short. */
export function toRouteQuery(view: ListView): Record<string, string> {
  const q: Record<string, string> = {}
  if (view.status) q.status = view.status.toLowerCase()
  if (view.symbol) q.symbol = view.symbol
  if (view.strategy) q.strategy = view.strategy
  if (view.from) q.from = view.from
  if (view.to) q.to = view.to
  if (view.sort !== DEFAULT_VIEW.sort || view.dir !== DEFAULT_VIEW.dir) {
    q.sort = view.sort
    q.dir = view.dir
  }
  if (view.after) q.after = view.after
  else if (view.before) q.before = view.before
  return q
}

function nextDay(d: string): string {
  const t = new Date(`${d}T00:00:00Z`)
  t.setUTCDate(t.getUTCDate() + 1)
  return t.toISOString()
}

/** The API's variables for a view: filter, sort and a keyset page of `size`. */
export function toVariables(view: ListView, size = PAGE_SIZE): BacktestListQueryVariables {
  const filter: NonNullable<BacktestListQueryVariables['filter']> = {}
  if (view.status) filter.status = [view.status]
  if (view.symbol) filter.symbol = view.symbol
  if (view.strategy) filter.strategyId = view.strategy
  if (view.from) filter.createdFrom = `${view.from}T00:00:00.000Z`
  if (view.to) filter.createdTo = nextDay(view.to)
  const page = view.before ? { last: size, before: view.before } : { first: size, after: view.after }
  return {
    filter: Object.keys(filter).length ? filter : null,
    sort: { field: SORT_FIELD[view.sort], direction: view.dir === 'asc' ? 'ASC' : 'DESC' },
    ...page,
  }
}

/** Whether the view narrows the list (for "no match" against "no backtest yet"). */
export function isFiltered(view: ListView): boolean {
  return Boolean(view.status || view.symbol || view.strategy || view.from || view.to)
}

/** A view with new filters or sort: back to the first page (cursors belong to one order). */
export function withChange(view: ListView, change: Partial<Omit<ListView, 'after' | 'before'>>): ListView {
  return { ...view, ...change, after: null, before: null }
}
