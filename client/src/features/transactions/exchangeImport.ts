// "Import from Binance" on the Transactions page: the form's symbols and date range as the
// API's input, its problems on the form's fields, and the job's live state from the jobEvents
// feed (the dashboard's reducer: an event is taken when its jobSeq is newer, or when terminal).
import type { FieldErrors } from '@/features/account/problems'

export type ImportField = 'keyId' | 'symbols' | 'start' | 'end' | 'name'
export const IMPORT_FIELDS: readonly ImportField[] = ['keyId', 'symbols', 'start', 'end', 'name']

const SYMBOL = /^[A-Z0-9]{2,20}\/[A-Z0-9]{2,20}$/

/**
 * The symbols typed in one field, separated by commas or spaces: upper-cased, each once, in the
 * order typed. `bad` lists those that are not BASE/QUOTE (e.g. "BTCUSDT").
 */
export function parseSymbols(text: string): { symbols: string[]; bad: string[] } {
  const symbols: string[] = []
  const bad: string[] = []
  for (const raw of text.split(/[\s,;]+/)) {
    const s = raw.trim().toUpperCase()
    if (!s) continue
    if (!SYMBOL.test(s)) {
      if (!bad.includes(raw.trim())) bad.push(raw.trim())
    } else if (!symbols.includes(s)) symbols.push(s)
  }
  return { symbols, bad }
}

const DAY = /^\d{4}-\d{2}-\d{2}$/

/** The next day of a date input's YYYY-MM-DD. */
function nextDay(day: string): string {
  const d = new Date(`${day}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() + 1)
  return d.toISOString().slice(0, 10)
}

export interface ImportForm {
  keyId: string
  symbols: string
  from: string
  to: string
  name: string
}

export interface ImportInput {
  keyId: string
  symbols: string[]
  start: string
  end: string
  name: string | null
}

/**
 * The form as the API's input, or what is wrong with it. Days are UTC: the range runs from the
 * start of `from` to the end of `to` (both days included), so `end` is the next day's midnight.
 */
export function importInput(form: ImportForm, now: number = Date.now()): { input: ImportInput } | { errors: FieldErrors<ImportField> } {
  const errors: FieldErrors<ImportField> = {}
  if (!form.keyId) errors.keyId = 'Choose the exchange key to import with.'
  const { symbols, bad } = parseSymbols(form.symbols)
  if (bad.length) errors.symbols = `Write each symbol as BASE/QUOTE, e.g. BTC/USDT (not ${bad.map((b) => `“${b}”`).join(', ')}).`
  else if (!symbols.length) errors.symbols = 'Enter at least one symbol, e.g. BTC/USDT.'
  if (!DAY.test(form.from)) errors.start = 'Choose the first day to import.'
  if (!DAY.test(form.to)) errors.end = 'Choose the last day to import.'
  else if (DAY.test(form.from) && form.to < form.from) errors.end = 'The last day comes before the first: swap them.'
  else if (Date.parse(`${form.from}T00:00:00Z`) > now) errors.start = 'The first day is in the future: there are no trades yet.'
  if (Object.keys(errors).length) return { errors }
  return {
    input: {
      keyId: form.keyId,
      symbols,
      start: `${form.from}T00:00:00Z`,
      end: `${nextDay(form.to)}T00:00:00Z`,
      name: form.name.trim() || null,
    },
  }
}

/** YYYY-MM-DD of a time, in UTC (for the date inputs' defaults). */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

/** How many trades the job has fetched so far, when its event says (its `data`). */
export function fetchedOf(data: unknown): number | null {
  if (!data || typeof data !== 'object') return null
  const d = data as Record<string, unknown>
  for (const k of ['nFetched', 'fetched', 'n_fetched']) {
    const v = d[k]
    if (typeof v === 'number' && Number.isFinite(v)) return v
  }
  return null
}

/** "3 trades fetched" / "1 trade fetched". */
export function tradesText(n: number): string {
  return `${n.toLocaleString('en-US')} trade${n === 1 ? '' : 's'} fetched`
}
