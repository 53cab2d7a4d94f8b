// Long candle series load into the chart newest first: lightweight-charts processes every bar
// it is given before it paints (about 1 s per 100,000 bars on a small machine), while a chart
// shows a few hundred at a time. A series of more than FULL_BELOW bars starts with its newest
// FIRST_WINDOW; when the view comes within EDGE bars of the oldest loaded one (the user scrolls
// or zooms back), the loaded span grows GROWTH times, up to the whole series; showing a trade
// older than the window loads back to it first. Every bar stays reachable; the first paint
// costs a window, not the whole history.

export const FULL_BELOW = 20_000
export const FIRST_WINDOW = 8_000
export const GROWTH = 4
export const EDGE = 50

/** The first bar loaded at first for a series of `n` bars. */
export function firstStart(n: number): number {
  return n <= FULL_BELOW ? 0 : n - FIRST_WINDOW
}

/** The first bar to load when the view nears `start`, the oldest loaded one (0: all loaded). */
export function grownStart(start: number, n: number): number {
  if (start <= 0) return 0
  const next = n - (n - start) * GROWTH
  return next <= FULL_BELOW / 2 ? 0 : next
}

/** The first bar to load so that bar `index` has EDGE bars of history before it. */
export function startToShow(start: number, index: number): number {
  return index - EDGE >= start ? start : Math.max(0, index - EDGE)
}

/** Whether the logical range's left edge (a bar index within the loaded ones) nears the oldest
 * loaded bar while older ones remain. */
export function nearsOldest(from: number | null | undefined, start: number): boolean {
  return start > 0 && from != null && from < EDGE
}

/** The index of the first time >= `t` in ascending `times` (times.length when none). */
export function lowerBound(times: readonly number[], t: number): number {
  let lo = 0
  let hi = times.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (times[mid]! < t) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** `columns` from bar `start` on: every array of the same length as `times` is sliced. */
export function fromBar<T extends { times: readonly number[] }>(columns: T, start: number): T {
  if (start <= 0) return columns
  const n = columns.times.length
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(columns)) {
    if (k === 'indicators' && Array.isArray(v)) {
      out[k] = v.map((s: { values: readonly unknown[] }) => (s.values.length === n ? { ...s, values: s.values.slice(start) } : s))
    } else if (Array.isArray(v) && v.length === n) out[k] = v.slice(start)
    else out[k] = v
  }
  return out as T
}
