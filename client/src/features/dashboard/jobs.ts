// The dashboard's running jobs: what each is, where its page is, and its live state from the
// jobEvents feed (CLIENT.md §4: an event is taken when its jobSeq is newer, or when terminal).
import type { DashboardJobEventsSubscription, DashboardJobFragment, JobKind, JobStage, RunStatus } from '@/graphql/generated/graphql'

export type JobEvent = DashboardJobEventsSubscription['jobEvents']

export const KIND_LABEL: Record<JobKind, string> = {
  BACKTEST: 'Backtest',
  SWEEP: 'Sweep',
  SYNC: 'Market data sync',
  REPLAY: 'Replay',
  EXCHANGE_IMPORT: 'Import from Binance',
}

/** What the job is, in a few words: the strategy of a backtest, the size of a sweep... */
export function jobTitle(job: DashboardJobFragment): string {
  switch (job.__typename) {
    case 'Backtest':
      return job.strategyName
    case 'Sweep':
      return `${job.nCombinations.toLocaleString('en-US')} parameter ${job.nCombinations === 1 ? 'set' : 'sets'}`
    case 'SyncJob':
      return `${job.exchange} candles`
    case 'Replay':
      return job.source === 'BACKTEST' ? 'A backtest’s trades' : 'Your transactions'
    case 'ExchangeImport':
      return 'Your trades on Binance'
    default: {
      const never: never = job
      throw new Error(`unexpected job ${JSON.stringify(never)}`)
    }
  }
}

/** "BTC/USDT · 1h", or '' for a job without a market. */
export function jobMarket(job: DashboardJobFragment): string {
  return 'symbol' in job && job.symbol ? `${job.symbol} · ${job.timeframe}` : ''
}

/** The page that follows the job. */
export function jobLink(job: Pick<DashboardJobFragment, 'id' | 'kind'>): string {
  const id = encodeURIComponent(job.id)
  switch (job.kind) {
    case 'BACKTEST':
      return `/backtests/${id}`
    case 'SWEEP':
      return `/sweeps/${id}`
    case 'REPLAY':
      return `/replays/${id}`
    case 'SYNC':
      return '/market'
    case 'EXCHANGE_IMPORT':
      return '/transactions'
    default:
      return '/'
  }
}

export interface LiveJob {
  seq: number
  status: RunStatus
  stage: JobStage | null
  progress: number
  eta: number | null
  error: string | null
  ended: boolean
}

const TERMINAL = new Set(['done', 'error', 'cancelled'])
const ENDED = new Set<RunStatus>(['SUCCEEDED', 'FAILED', 'CANCELLED'])

export function isTerminalEvent(e: Pick<JobEvent, 'kind' | 'status'>): boolean {
  return TERMINAL.has(e.kind) || ENDED.has(e.status)
}

/**
 * The live states with `e` applied: a new map when it changed anything, else `live` itself.
 * Older events (jobSeq not above the last one) are dropped unless terminal; an ended job keeps
 * its last state.
 */
export function applyJobEvent(live: ReadonlyMap<string, LiveJob>, e: JobEvent): ReadonlyMap<string, LiveJob> {
  const prev = live.get(e.jobId)
  const terminal = isTerminalEvent(e)
  if (prev?.ended) return live
  if (prev && !terminal && e.jobSeq <= prev.seq) return live
  const next = new Map(live)
  next.set(e.jobId, {
    seq: Math.max(prev?.seq ?? 0, e.jobSeq),
    status: e.status,
    stage: e.stage ?? prev?.stage ?? null,
    progress: e.kind === 'done' ? 1 : e.progress,
    eta: terminal ? null : (e.eta ?? null),
    error: e.error ?? null,
    ended: terminal,
  })
  return next
}

export interface JobView {
  id: string
  kind: JobKind
  kindLabel: string
  title: string
  market: string
  to: string
  status: RunStatus
  stage: JobStage | null
  /** 0 to 100, whole. */
  percent: number
  eta: number | null
  error: string | null
  ended: boolean
}

/** A listed job with its live state (the newer of the two). */
export function jobView(job: DashboardJobFragment, live: LiveJob | undefined): JobView {
  const progress = live ? live.progress : job.progress
  return {
    id: job.id,
    kind: job.kind,
    kindLabel: KIND_LABEL[job.kind] ?? job.kind,
    title: jobTitle(job),
    market: jobMarket(job),
    to: jobLink(job),
    status: live?.status ?? job.status,
    stage: live?.stage ?? job.stage,
    percent: Math.max(0, Math.min(100, Math.floor(progress * 100))),
    eta: live ? live.eta : (job.eta ?? null),
    error: live?.error ?? null,
    ended: live?.ended ?? ENDED.has(job.status),
  }
}

/** A stage in words (for every kind of job). */
export const STAGE_LABEL: Record<JobStage, string> = {
  QUEUED: 'Waiting for a free worker',
  LOADING: 'Loading its inputs',
  COMPUTING: 'Computing',
  SAVING: 'Saving the results',
  DONE: 'Done',
}

const RANK: Partial<Record<RunStatus, number>> = { RUNNING: 0, QUEUED: 1 }

/** Running jobs first, then queued ones, then those that just ended; newest first within each. */
export function orderJobs(jobs: readonly JobView[]): JobView[] {
  return jobs
    .map((job, i) => ({ job, i }))
    .sort((a, b) => (RANK[a.job.status] ?? 2) - (RANK[b.job.status] ?? 2) || a.i - b.i)
    .map(({ job }) => job)
}
