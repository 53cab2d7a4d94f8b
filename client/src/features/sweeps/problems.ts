// The API's problem paths (runSweep's ValidationError) to the start form's fields.

/** `input.grid.fast.step` -> `param:fast`; `input.grid` and `input.parameters` (the grid's
 *  size) -> `grid`; `input.initialCapital` -> `initialCapital`; anything else -> its field. */
export function sweepFieldOf(path: string): string {
  const p = path.replace(/^input\./, '')
  const grid = /^grid\.([^.[]+)/.exec(p)
  if (grid) return `param:${grid[1]}`
  if (p === 'grid' || p === 'parameters' || p.startsWith('parameters.')) return 'grid'
  return p.split(/[.[]/)[0] || 'form'
}

export const SWEEP_FIELDS = new Set(['strategyId', 'exchange', 'symbol', 'timeframe', 'from', 'to', 'initialCapital', 'rankBy', 'grid'])
