// A running sweep's progress (CLIENT.md §4): the backtests' reducer (newer seq or a terminal
// event wins) plus the sets evaluated so far (`done` of `total`) that sweep events carry.
import { reduceProgress, type ProgressEvent, type ProgressState } from '@/features/backtests/progress'

export interface SweepProgressEvent extends ProgressEvent {
  done?: number | null
  total?: number | null
}

export interface SweepProgressState extends ProgressState {
  done: number | null
  total: number | null
}

export function reduceSweepProgress(prev: SweepProgressState | undefined, e: SweepProgressEvent): SweepProgressState {
  const next = reduceProgress(prev, e)
  if (prev && next === prev) return prev
  const total = e.total ?? prev?.total ?? null
  return { ...next, done: e.kind === 'done' && total !== null ? total : (e.done ?? prev?.done ?? null), total }
}
