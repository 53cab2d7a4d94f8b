// Number and time formats of the backtest pages (fractions from the API: 0.25 is 25 %).

const DASH = '–'

export function pct(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return DASH
  return `${(v * 100).toFixed(digits)} %`
}

export function signedPct(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return DASH
  return `${v > 0 ? '+' : ''}${(v * 100).toFixed(digits)} %`
}

export function num(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return DASH
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

export function money(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return DASH
  return `${v > 0 ? '+' : ''}${num(v, digits)}`
}

export function price(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return DASH
  const digits = Math.abs(v) >= 1000 ? 2 : Math.abs(v) >= 1 ? 4 : 6
  return num(v, digits)
}

/** "2024-03-01 14:00" (UTC). */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return DASH
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return DASH
  return d.toISOString().slice(0, 16).replace('T', ' ')
}

export function date(iso: string | null | undefined): string {
  if (!iso) return DASH
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? DASH : d.toISOString().slice(0, 10)
}

/** Seconds as "1 min 5 s", "12 s". */
export function seconds(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return DASH
  const s = Math.max(0, Math.round(v))
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${s % 60} s`
  return `${Math.floor(m / 60)} h ${m % 60} min`
}

export function days(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return DASH
  return `${v.toFixed(v < 10 ? 1 : 0)} d`
}

export const EXIT_REASON: Record<string, string> = {
  SIGNAL: 'Signal',
  STOP_LOSS: 'Stop-loss',
  TAKE_PROFIT: 'Take-profit',
  TRAILING_STOP: 'Trailing stop',
  END_OF_DATA: 'End of data',
}

export const STAGE: Record<string, string> = {
  QUEUED: 'Queued',
  LOADING: 'Loading candles',
  COMPUTING: 'Computing',
  SAVING: 'Saving results',
  DONE: 'Done',
}

export type Tone = 'neutral' | 'info' | 'success' | 'warning' | 'danger'

export function statusTone(status: string): Tone {
  switch (status) {
    case 'SUCCEEDED':
      return 'success'
    case 'FAILED':
      return 'danger'
    case 'CANCELLED':
      return 'warning'
    case 'RUNNING':
      return 'info'
    default:
      return 'neutral'
  }
}

export function statusLabel(status: string): string {
  return status.charAt(0) + status.slice(1).toLowerCase()
}
