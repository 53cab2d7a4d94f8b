// The progress reducer of a running backtest (CLIENT.md §4): it keeps {status, stage, progress,
// eta, equity, seq} and takes an event when its seq is newer, or when it is terminal (done,
// error, cancelled: whatever came before). The equity replaces the previous curve.
import { markRaw } from 'vue'
import type { JobStage, RunStatus } from '@/graphql/generated/graphql'

export interface ProgressEquity {
  times: number[]
  values: number[]
}

export interface ProgressEvent {
  seq: number
  kind: string
  status: RunStatus
  stage?: JobStage | null
  progress: number
  eta?: number | null
  error?: string | null
  equity?: ProgressEquity | null
}

export interface ProgressState {
  seq: number
  status: RunStatus | null
  stage: JobStage | null
  progress: number
  eta: number | null
  error: string | null
  equity: ProgressEquity | null
  /** The terminal event has arrived. */
  ended: boolean
}

export const TERMINAL_KINDS = new Set(['done', 'error', 'cancelled'])
export const ENDED_STATUSES = new Set<RunStatus>(['SUCCEEDED', 'FAILED', 'CANCELLED'])

export function initialProgress(): ProgressState {
  return { seq: 0, status: null, stage: null, progress: 0, eta: null, error: null, equity: null, ended: false }
}

export function isTerminal(e: Pick<ProgressEvent, 'kind'>): boolean {
  return TERMINAL_KINDS.has(e.kind)
}

export function reduceProgress(prev: ProgressState | undefined, e: ProgressEvent): ProgressState {
  const state = prev ?? initialProgress()
  const terminal = isTerminal(e)
  if (state.ended) return state
  if (!terminal && e.seq <= state.seq) return state
  return {
    seq: Math.max(state.seq, e.seq),
    status: e.status,
    stage: e.stage ?? state.stage,
    progress: e.kind === 'done' ? 1 : e.progress,
    eta: terminal ? null : (e.eta ?? null),
    error: e.error ?? null,
    // big arrays stay out of Vue's reactivity
    equity: e.equity ? markRaw({ times: e.equity.times, values: e.equity.values }) : state.equity,
    ended: terminal || ENDED_STATUSES.has(e.status),
  }
}
