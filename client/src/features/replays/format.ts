// How a replay's what-if reads in lists and headers.
import type { FillModel } from '@/graphql/generated/graphql'
import { FILL_MODELS } from './form'

export function fillLabel(f: FillModel): string {
  return FILL_MODELS.find((m) => m.value === f)?.label ?? f
}

function bps(v: number): string {
  return `${Number.isInteger(v) ? v : v.toFixed(2)} bps`
}

/** "Bar open · fees 5 bps · slippage 3 bps · 1-bar delay". */
export function whatIf(r: { fill: FillModel; feeBps: number | null; slippageBps: number; delayBars: number }): string {
  return [
    fillLabel(r.fill),
    r.feeBps === null ? 'actual fees' : `fees ${bps(r.feeBps)}`,
    `slippage ${bps(r.slippageBps)}`,
    r.delayBars === 0 ? 'no delay' : `${r.delayBars}-bar delay`,
  ].join(' · ')
}
