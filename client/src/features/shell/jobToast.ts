import type { JobEventsSubscription } from '@/graphql/generated/graphql'

type JobEvent = JobEventsSubscription['jobEvents']

const NAMES: Record<JobEvent['jobKind'], string> = {
  BACKTEST: 'Backtest',
  SWEEP: 'Sweep',
  SYNC: 'Market data sync',
  REPLAY: 'Replay',
  EXCHANGE_IMPORT: 'Import from Binance',
}

/** The toast for a job event: only its end is worth interrupting for (null otherwise). */
export function jobToast(event: JobEvent): { text: string; tone: 'success' | 'error' | 'info' } | null {
  const name = NAMES[event.jobKind] ?? 'Job'
  switch (event.kind) {
    case 'done':
      return { text: `${name} finished.`, tone: 'success' }
    case 'error':
      return { text: `${name} failed${event.error ? `: ${event.error}` : '.'}`, tone: 'error' }
    case 'cancelled':
      return { text: `${name} cancelled.`, tone: 'info' }
    default:
      return null
  }
}

/** Where the job's page is (a sync's is the Market data page). */
export function jobLink(event: Pick<JobEvent, 'jobKind' | 'jobId'>): string {
  const id = encodeURIComponent(event.jobId)
  switch (event.jobKind) {
    case 'BACKTEST':
      return `/backtests/${id}`
    case 'SWEEP':
      return `/sweeps/${id}`
    case 'REPLAY':
      return `/replays/${id}`
    case 'EXCHANGE_IMPORT':
      return '/transactions'
    default:
      return '/market'
  }
}
