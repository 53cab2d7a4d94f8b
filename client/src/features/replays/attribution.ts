// The attribution of a replay's PnL difference, as the API gives it (ReplayTotals): what the
// fill prices changed (fill model, slippage and the delay's later prices), what the fees
// changed, and the PnL of the fills the delay pushed past the last bar. The API guarantees
// slippage + feeAttribution + droppedPnl = pnlDifference; a residual is shown only if the
// numbers ever disagree by more than a cent.
import type { ReplayTotalsFieldsFragment } from '@/graphql/generated/graphql'

export type AttributionKey = 'prices' | 'fees' | 'dropped' | 'residual' | 'total'

export interface AttributionRow {
  key: AttributionKey
  label: string
  hint: string
  /** In quote; positive: the replay did better than the account as it was. */
  value: number | null
  /** |value| / the largest |value| of the parts, 0..1 (for the bar); 0 for the total. */
  share: number
}

const CENT = 0.005

function finite(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v)
}

export function attributionRows(t: Pick<ReplayTotalsFieldsFragment, 'slippage' | 'feeAttribution' | 'droppedPnl' | 'pnlDifference' | 'nDropped'>): AttributionRow[] {
  const parts: Omit<AttributionRow, 'share'>[] = [
    {
      key: 'prices',
      label: 'Fill prices',
      hint: 'What the actual fills cost more than the replayed ones: the fill model, the slippage and the prices after the delay.',
      value: t.slippage,
    },
    { key: 'fees', label: 'Fees', hint: 'Actual fees minus the replayed fees.', value: t.feeAttribution },
    {
      key: 'dropped',
      label: 'Fills dropped by the delay',
      hint:
        t.nDropped === 0
          ? 'No fill was pushed past the last bar.'
          : t.nDropped === 1
            ? 'One fill was pushed past the last bar.'
            : `${t.nDropped} fills were pushed past the last bar.`,
      value: t.droppedPnl ?? (t.nDropped === 0 ? 0 : null),
    },
  ]
  const sum = parts.reduce((s, p) => s + (finite(p.value) ? p.value : 0), 0)
  if (finite(t.pnlDifference) && Math.abs(t.pnlDifference - sum) > CENT) {
    parts.push({ key: 'residual', label: 'Not attributed', hint: 'The difference the parts above do not explain.', value: t.pnlDifference - sum })
  }
  const largest = Math.max(0, ...parts.map((p) => (finite(p.value) ? Math.abs(p.value) : 0)))
  const rows: AttributionRow[] = parts.map((p) => ({ ...p, share: largest > 0 && finite(p.value) ? Math.abs(p.value) / largest : 0 }))
  rows.push({ key: 'total', label: 'Replayed − actual net PnL', hint: 'The whole difference.', value: t.pnlDifference, share: 0 })
  return rows
}
