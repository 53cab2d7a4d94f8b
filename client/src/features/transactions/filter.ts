// The transactions table's filter controls → TransactionFilterInput (dates are whole UTC days:
// "from" inclusive at 00:00, "to" inclusive, so the API's exclusive end is the next midnight).
import type { Side, TransactionFilterInput } from '@/graphql/generated/graphql'

export interface FilterState {
  symbol: string
  side: Side | ''
  /** yyyy-mm-dd or ''. */
  from: string
  to: string
  importId: string | null
}

export function emptyFilter(): FilterState {
  return { symbol: '', side: '', from: '', to: '', importId: null }
}

function day(v: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) return null
  const t = Date.parse(`${v}T00:00:00Z`)
  return Number.isNaN(t) ? null : t
}

/** BTCUSDT, btc/usdt → BTC/USDT is left to the API; we only trim and upper-case. */
export function toFilterInput(s: FilterState): TransactionFilterInput {
  const from = day(s.from)
  const to = day(s.to)
  return {
    symbol: s.symbol.trim() ? s.symbol.trim().toUpperCase() : null,
    side: s.side || null,
    from: from === null ? null : new Date(from).toISOString(),
    to: to === null ? null : new Date(to + 86_400_000).toISOString(),
    importId: s.importId,
  }
}

/** "to" before "from": a message for the date field, else null. */
export function dateProblem(s: FilterState): string | null {
  const from = day(s.from)
  const to = day(s.to)
  return from !== null && to !== null && to < from ? 'The end date is before the start date.' : null
}

export function isFiltered(s: FilterState): boolean {
  return Boolean(s.symbol.trim() || s.side || s.from || s.to || s.importId)
}
