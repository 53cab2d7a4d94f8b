// An import's problems (TransactionFileProblems.problems) as the page lists them: where (the row
// or JSON item, and the column or key) and what, in file order.
import type { TransactionFormat } from '@/graphql/generated/graphql'

export interface RowProblem {
  row: number
  unit: string
  column: string
  message: string
}

export interface ProblemLine {
  key: string
  /** "Row 3", "Item 2", "Whole file". */
  where: string
  /** The column (or JSON key); '' for the whole row. */
  column: string
  message: string
}

export function sentence(text: string): string {
  const t = text.trim()
  if (!t) return t
  const s = t[0]!.toUpperCase() + t.slice(1)
  return /[.!?]$/.test(s) ? s : `${s}.`
}

export function problemLines(problems: readonly RowProblem[]): ProblemLine[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => a.p.row - b.p.row || a.i - b.i)
    .map(({ p, i }) => ({
      key: `${p.row}-${p.column}-${i}`,
      where: p.row === 0 ? 'Whole file' : `${p.unit === 'item' ? 'Item' : 'Row'} ${p.row}`,
      column: p.column,
      message: sentence(p.message),
    }))
}

export interface FormatInfo {
  value: TransactionFormat
  label: string
  accept: string
  columns: string
}

/** The formats importTransactions accepts (README "Transaction replay"). */
export const FORMATS: readonly FormatInfo[] = [
  {
    value: 'PLAIN_CSV',
    label: 'Plain CSV',
    accept: '.csv,text/csv',
    columns: 'timestamp, symbol, side, price, quantity, fee, fee_asset[, trade_id]: ISO-8601 or epoch ms times.',
  },
  {
    value: 'BINANCE_EXPORT',
    label: 'Binance trade history export (CSV or XLSX)',
    accept: '.csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    columns: 'Date(UTC), Pair, Side, Price, Executed, Amount, Fee: the file Binance exports.',
  },
  {
    value: 'BINANCE_MY_TRADES',
    label: 'Binance myTrades JSON',
    accept: '.json,application/json',
    columns: 'The JSON body of GET /api/v3/myTrades: one array, or several symbols’ arrays joined.',
  },
]

/** A format guessed from a file's name (the user may change it). */
export function guessFormat(filename: string): TransactionFormat | null {
  const f = filename.toLowerCase()
  if (f.endsWith('.json')) return 'BINANCE_MY_TRADES'
  if (f.endsWith('.xlsx')) return 'BINANCE_EXPORT'
  return null
}

export function formatLabel(f: TransactionFormat): string {
  return FORMATS.find((x) => x.value === f)?.label ?? f
}
