// Live candles on top of the stored ones: the seed (the `candles` query's columns) is copied
// once into plain arrays, then each `candleUpdates` event replaces the bar with its open time
// (the forming bar, updated in place) or appends a newer one. Pure: liveCandles.test.ts.
import type { UTCTimestamp } from 'lightweight-charts'

export interface LiveColumns {
  times: number[]
  open: number[]
  high: number[]
  low: number[]
  close: number[]
  volume: number[]
}

export interface CandleSeed {
  times: readonly number[]
  open: readonly number[]
  high: readonly number[]
  low: readonly number[]
  close: readonly number[]
  volume: readonly number[]
}

export interface LiveCandle {
  timeMs: number
  open: number
  high: number
  low: number
  close: number
  volume: number
  closed: boolean
}

/** What an update did: replaced the last bar, appended one, or nothing (older than the last). */
export type Merge = 'replaced' | 'appended' | 'stale'

export function seedColumns(seed: CandleSeed | null | undefined): LiveColumns {
  return {
    times: [...(seed?.times ?? [])],
    open: [...(seed?.open ?? [])],
    high: [...(seed?.high ?? [])],
    low: [...(seed?.low ?? [])],
    close: [...(seed?.close ?? [])],
    volume: [...(seed?.volume ?? [])],
  }
}

/**
 * Merges one update into `cols` (in place: they are the chart's own arrays, kept out of Vue's
 * reactivity). The first update may repeat the last stored bar: it replaces it. An update older
 * than the last bar (a closed bar arriving after the next one started) changes nothing: the
 * chart can only update its last bar.
 */
export function mergeCandle(cols: LiveColumns, c: LiveCandle): Merge {
  const n = cols.times.length
  const last = n ? cols.times[n - 1]! : -Infinity
  if (c.timeMs < last) return 'stale'
  const i = c.timeMs === last ? n - 1 : n
  cols.times[i] = c.timeMs
  cols.open[i] = c.open
  cols.high[i] = c.high
  cols.low[i] = c.low
  cols.close[i] = c.close
  cols.volume[i] = c.volume
  return i === n ? 'appended' : 'replaced'
}

/** The chart's bar of an update (UTC seconds). */
export function chartBar(c: LiveCandle): { time: UTCTimestamp; open: number; high: number; low: number; close: number; volume: number } {
  return { time: Math.floor(c.timeMs / 1000) as UTCTimestamp, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume }
}
