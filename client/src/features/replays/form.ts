// The replay form: its state, the checks made before asking the API, and RunReplayInput.
// From transactions the market (symbol, timeframe) is needed; from a backtest every market
// field may stay empty (the backtest's own). Dates are whole UTC days: "to" is included.
import type { FillModel, ReplaySource, RunReplayInput } from '@/graphql/generated/graphql'
import type { FieldErrors } from '@/features/account/problems'

export const REPLAY_FIELDS = [
  'symbol',
  'timeframe',
  'exchange',
  'from',
  'to',
  'initialCapital',
  'fill',
  'feeBps',
  'slippageBps',
  'delayBars',
  'importIds',
  'backtestId',
] as const
export type ReplayField = (typeof REPLAY_FIELDS)[number]

export interface ReplayFormState {
  source: ReplaySource
  backtestId: string | null
  /** Empty: every import. */
  importIds: string[]
  symbol: string
  timeframe: string
  exchange: string
  from: string
  to: string
  initialCapital: string
  fill: FillModel
  /** false: the actual fees. */
  customFee: boolean
  feeBps: string
  slippageBps: string
  delayBars: string
}

/** What another part of the app opens the form with (an import's Replay, a backtest's page). */
export interface ReplayPrefill {
  state: Partial<ReplayFormState>
  /** The import's name when state.importIds holds one. */
  importName?: string
}

export function emptyReplayForm(): ReplayFormState {
  return {
    source: 'TRANSACTIONS',
    backtestId: null,
    importIds: [],
    symbol: '',
    timeframe: '1h',
    exchange: '',
    from: '',
    to: '',
    initialCapital: '',
    fill: 'ACTUAL',
    customFee: false,
    feeBps: '10',
    slippageBps: '0',
    delayBars: '0',
  }
}

export const FILL_MODELS: readonly { value: FillModel; label: string; hint: string }[] = [
  { value: 'ACTUAL', label: 'Actual price', hint: 'Each fill at its own price.' },
  { value: 'OPEN', label: 'Bar open', hint: 'The open of the bar it is replayed in.' },
  { value: 'CLOSE', label: 'Bar close', hint: 'The close of the bar it is replayed in.' },
  { value: 'TYPICAL', label: 'Typical price', hint: '(high + low + close) / 3 of the bar.' },
]

export const TIMEFRAMES = ['1m', '5m', '15m', '30m', '1h', '4h', '1d'] as const

/** A typed number; '' is null (the default), junk NaN. Inputs of type number give numbers. */
function number(v: string | number | null | undefined): number | null {
  const t = String(v ?? '').trim()
  if (t === '') return null
  const n = Number(t)
  return Number.isFinite(n) ? n : Number.NaN
}

function day(v: string): number | null {
  if (!v) return null
  const t = Date.parse(`${v}T00:00:00Z`)
  return Number.isNaN(t) ? Number.NaN : t
}

export interface Built {
  input: RunReplayInput | null
  errors: FieldErrors<ReplayField>
}

/** The input for runReplay, or the problems to fix first (at their fields). */
export function buildReplayInput(s: ReplayFormState): Built {
  const errors: FieldErrors<ReplayField> = {}
  const fromBacktest = s.source === 'BACKTEST'
  if (fromBacktest && !s.backtestId) errors.backtestId = 'Choose the backtest to replay from its page.'
  if (!fromBacktest && !s.symbol.trim()) errors.symbol = 'Enter the market to replay, e.g. BTC/USDT.'
  if (!fromBacktest && !s.timeframe) errors.timeframe = 'Choose the bars to mark to market on.'

  const capital = number(s.initialCapital)
  if (capital !== null && !(capital > 0)) errors.initialCapital = 'Enter a positive amount, or leave it empty for the default.'
  const fee = s.customFee ? number(s.feeBps) : null
  if (s.customFee && (fee === null || Number.isNaN(fee) || fee < 0)) errors.feeBps = 'Enter a fee of 0 bps or more.'
  const slippage = number(s.slippageBps) ?? 0
  if (Number.isNaN(slippage) || slippage < 0) errors.slippageBps = 'Enter a slippage of 0 bps or more.'
  const delay = number(s.delayBars) ?? 0
  if (!Number.isInteger(delay) || delay < 0) errors.delayBars = 'Enter a whole number of bars, 0 or more.'
  const from = day(s.from)
  const to = day(s.to)
  if (Number.isNaN(from)) errors.from = 'Enter a date.'
  if (Number.isNaN(to)) errors.to = 'Enter a date.'
  if (from !== null && to !== null && !Number.isNaN(from) && !Number.isNaN(to) && to < from) errors.to = 'The end is before the start.'
  if (Object.keys(errors).length) return { input: null, errors }

  const market = (v: string): string | null => (v.trim() ? v.trim() : null)
  const input: RunReplayInput = {
    symbol: market(s.symbol.toUpperCase()),
    timeframe: market(s.timeframe),
    exchange: market(s.exchange),
    from: from === null ? null : new Date(from).toISOString(),
    to: to === null ? null : new Date(to + 86_400_000).toISOString(),
    initialCapital: capital,
    fill: s.fill,
    feeBps: s.customFee ? fee : null,
    slippageBps: slippage,
    delayBars: delay,
  }
  if (fromBacktest) input.backtestId = s.backtestId
  else input.importIds = s.importIds.length ? [...s.importIds] : null
  return { input, errors }
}
