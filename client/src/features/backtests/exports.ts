// Exports of a finished backtest: its trades as CSV and JSON, its summary as JSON, and a
// self-contained HTML report (styles and chart images inline: no external URL).
import type { BacktestSummaryFieldsFragment, BacktestTradeFieldsFragment } from '@/graphql/generated/graphql'

export type ExportTrade = BacktestTradeFieldsFragment

/** The CSV columns, in order: every field of Trade. */
export const TRADE_COLUMNS = [
  'seq',
  'entryTime',
  'exitTime',
  'side',
  'direction',
  'entryPrice',
  'exitPrice',
  'quantity',
  'grossPnl',
  'fees',
  'pnl',
  'return',
  'exitReason',
] as const satisfies readonly (keyof ExportTrade)[]

function cell(v: unknown): string {
  if (v === null || v === undefined) return ''
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v)
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** RFC 4180 CSV, a header row then a row per trade; numbers as the API sent them (full precision). */
export function tradesToCsv(trades: readonly ExportTrade[]): string {
  const rows = [TRADE_COLUMNS.join(',')]
  for (const t of trades) rows.push(TRADE_COLUMNS.map((c) => cell(t[c])).join(','))
  return rows.join('\r\n') + '\r\n'
}

/** Parses tradesToCsv's output back (numbers as numbers): for tests and checks. */
export function parseTradesCsv(csv: string): Record<string, string | number>[] {
  const lines = csv.split(/\r\n/).filter((l) => l.length > 0)
  const header = lines[0]?.split(',') ?? []
  return lines.slice(1).map((line) => {
    const values = line.split(',')
    const row: Record<string, string | number> = {}
    header.forEach((h, i) => {
      const v = values[i] ?? ''
      row[h] = v !== '' && !Number.isNaN(Number(v)) ? Number(v) : v
    })
    return row
  })
}

export function tradesToJson(trades: readonly ExportTrade[]): string {
  return JSON.stringify(
    trades.map((t) => Object.fromEntries(TRADE_COLUMNS.map((c) => [c, t[c]]))),
    null,
    2,
  )
}

export interface ReportMeta {
  id: string
  strategyName: string
  exchange: string
  symbol: string
  timeframe: string
  from: string
  to: string
  initialCapital: number
  params: unknown
  createdAt: string
}

export function summaryToJson(meta: ReportMeta, summary: BacktestSummaryFieldsFragment | null | undefined): string {
  const { __typename: _t, ...metrics } = (summary ?? {}) as BacktestSummaryFieldsFragment & { __typename?: string }
  return JSON.stringify({ backtest: meta, summary: metrics }, null, 2)
}

/** Downloads text as a file (a Blob URL, revoked afterwards). */
export function download(filename: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}

export function fileStem(meta: Pick<ReportMeta, 'symbol' | 'timeframe' | 'id'>): string {
  return `backtest-${meta.symbol.replace(/\W+/g, '')}-${meta.timeframe}-${meta.id.replace(/\W+/g, '')}`
}

const esc = (s: unknown): string =>
  String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

export interface ReportInput {
  meta: ReportMeta
  /** [label, formatted value] */
  kpis: [string, string][]
  /** Chart images as data: URLs (PNG), with their captions. */
  images: { caption: string; dataUrl: string }[]
  /** Extra tables: a title, headers and formatted rows. */
  tables: { title: string; headers: string[]; rows: string[][] }[]
}

/** A self-contained HTML report: inline styles, data: URL images, no script, no external URL. */
export function htmlReport(r: ReportInput): string {
  const m = r.meta
  const table = (t: ReportInput['tables'][number]): string =>
    `<section><h2>${esc(t.title)}</h2><table><thead><tr>${t.headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${t.rows
      .map((row) => `<tr>${row.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
      .join('')}</tbody></table></section>`
  const images = r.images
    .filter((i) => i.dataUrl.startsWith('data:image/'))
    .map((i) => `<figure><img src="${esc(i.dataUrl)}" alt="${esc(i.caption)}"><figcaption>${esc(i.caption)}</figcaption></figure>`)
    .join('')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(m.strategyName)} on ${esc(m.symbol)} ${esc(m.timeframe)}: backtest report</title>
<style>
body{font:14px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#0f172a;background:#fff;margin:2rem auto;max-width:1100px;padding:0 1rem}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:2rem 0 .5rem}
.meta{color:#475569;margin:0 0 1rem}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:.5rem}
.kpi{border:1px solid #cbd5e1;border-radius:.5rem;padding:.5rem .75rem}.kpi b{display:block;font-size:1.15rem;font-variant-numeric:tabular-nums}
.kpi span{color:#475569;font-size:.8rem}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}th,td{border-bottom:1px solid #e2e8f0;padding:.25rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}figure{margin:1rem 0}img{max-width:100%;border:1px solid #e2e8f0;border-radius:.5rem}
figcaption{color:#475569;font-size:.85rem}pre{background:#f1f5f9;padding:.5rem;border-radius:.5rem;overflow:auto}
</style></head><body>
<h1>${esc(m.strategyName)} · ${esc(m.symbol)} ${esc(m.timeframe)}</h1>
<p class="meta">${esc(m.exchange)} · ${esc(m.from)} to ${esc(m.to)} · initial capital ${esc(m.initialCapital)} · backtest ${esc(m.id)} · run ${esc(m.createdAt)}</p>
<section><h2>Performance</h2><div class="kpis">${r.kpis.map(([k, v]) => `<div class="kpi"><span>${esc(k)}</span><b>${esc(v)}</b></div>`).join('')}</div></section>
${images}
${r.tables.map(table).join('\n')}
<section><h2>Parameters</h2><pre>${esc(JSON.stringify(m.params, null, 2))}</pre></section>
</body></html>
`
}
