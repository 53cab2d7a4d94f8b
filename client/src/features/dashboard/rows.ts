import type { DashboardOverviewQuery } from '@/graphql/generated/graphql'

type Node = DashboardOverviewQuery['backtests']['edges'][number]['node']
export type Tone = 'neutral' | 'info' | 'success' | 'warning' | 'danger'

export interface DashboardRow {
  id: string
  to: string
  title: string
  market: string
  created: string
  status: string
  tone: Tone
  /** "+12.34 %", "−3.10 %" or "–" (not finished). */
  totalReturn: string
  direction: 'up' | 'down' | 'flat'
}

const STATUS: Record<Node['status'], { label: string; tone: Tone }> = {
  QUEUED: { label: 'Queued', tone: 'neutral' },
  RUNNING: { label: 'Running', tone: 'info' },
  SUCCEEDED: { label: 'Succeeded', tone: 'success' },
  FAILED: { label: 'Failed', tone: 'danger' },
  CANCELLED: { label: 'Cancelled', tone: 'warning' },
}

/** A fraction as a signed percentage with a real minus sign: 0.1234 → "+12.34 %". */
export function signedPercent(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–'
  const text = `${Math.abs(v * 100).toFixed(2)} %`
  if (text === '0.00 %') return text
  return `${v > 0 ? '+' : '−'}${text}`
}

/** "2024-03-01 14:00 UTC". */
export function utcMinute(iso: string): string {
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? '–' : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

export function dashboardRows(data: DashboardOverviewQuery | undefined): DashboardRow[] {
  return (data?.backtests.edges ?? []).map(({ node }) => {
    const r = node.summary?.totalReturn ?? null
    const status = STATUS[node.status] ?? { label: node.status, tone: 'neutral' as const }
    return {
      id: node.id,
      to: `/backtests/${encodeURIComponent(node.id)}`,
      title: node.strategyName,
      market: `${node.symbol} · ${node.timeframe}`,
      created: utcMinute(node.createdAt),
      status: status.label,
      tone: status.tone,
      totalReturn: signedPercent(r),
      direction: r === null || r === 0 || signedPercent(r) === '0.00 %' ? 'flat' : r > 0 ? 'up' : 'down',
    }
  })
}
