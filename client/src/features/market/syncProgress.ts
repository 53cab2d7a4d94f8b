// A sync job's live state from its progress events (CLIENT.md §4): an event is taken when its
// seq is newer or when it is terminal; the first event is the job's current state. Pure:
// syncProgress.test.ts.
import type { JobStage, RunStatus } from '@/graphql/generated/graphql'

export interface SyncEvent {
  seq: number
  kind: string
  status: RunStatus
  stage?: JobStage | null
  progress: number
  eta?: number | null
  stored: number
  pages?: number | null
  error?: string | null
}

export interface SyncState {
  seq: number
  status: RunStatus
  progress: number
  eta: number | null
  stored: number
  pages: number | null
  error: string | null
  ended: boolean
}

const TERMINAL = new Set(['done', 'error', 'cancelled'])
const ENDED = new Set<RunStatus>(['SUCCEEDED', 'FAILED', 'CANCELLED'])

export function isEnded(status: RunStatus): boolean {
  return ENDED.has(status)
}

export function reduceSync(prev: SyncState | undefined, e: SyncEvent): SyncState {
  const terminal = TERMINAL.has(e.kind)
  if (prev?.ended) return prev
  if (prev && !terminal && e.seq <= prev.seq) return prev
  return {
    seq: Math.max(prev?.seq ?? 0, e.seq),
    status: e.status,
    progress: e.kind === 'done' ? 1 : e.progress,
    eta: terminal ? null : (e.eta ?? null),
    stored: Math.max(e.stored, prev?.stored ?? 0),
    pages: e.pages ?? prev?.pages ?? null,
    error: e.error ?? null,
    ended: terminal || ENDED.has(e.status),
  }
}

/** The API's problem paths (input.symbol...) to the sync form's fields. */
export function syncField(path: string): 'exchange' | 'symbol' | 'timeframe' | 'since' | 'until' | 'form' {
  const p = path.replace(/^input\./, '').split('.')[0] ?? ''
  return p === 'exchange' || p === 'symbol' || p === 'timeframe' || p === 'since' || p === 'until' ? p : 'form'
}

/** The UTC start of a day chosen in a date input (YYYY-MM-DD). */
export function dayStart(day: string): string {
  return `${day}T00:00:00Z`
}
