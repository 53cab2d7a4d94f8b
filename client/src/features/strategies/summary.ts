/**
 * The rules of a strategy document in plain English:
 * "Enter long when SMA(10) crosses above SMA(50)." Works on the JSON document (any, even
 * invalid: what it cannot read it says so), with the schema's catalog for default values.
 */

import type { Catalog } from './catalog'

type Json = Record<string, unknown>

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

const INDICATOR_NAMES: Record<string, string> = {
  bbands: 'Bollinger Bands',
  stoch: 'Stochastic',
  donchian: 'Donchian',
}

const PRICE_NAMES: Record<string, string> = {
  hl2: '(high + low) / 2',
  hlc3: '(high + low + close) / 3',
  ohlc4: '(open + high + low + close) / 4',
}

const OPERATORS: Record<string, string> = {
  '>': 'is above',
  '<': 'is below',
  '>=': 'is at or above',
  '<=': 'is at or below',
  crosses_above: 'crosses above',
  crosses_below: 'crosses below',
}

/** "crosses above" for crosses_above (the operator itself when unknown). */
export function operatorText(op: string): string {
  return OPERATORS[op] ?? op.replace(/_/g, ' ')
}

export function indicatorName(name: string): string {
  return INDICATOR_NAMES[name] ?? name.toUpperCase()
}

export function formatNumber(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: 8 })
}

interface Ctx {
  params: Record<string, number | undefined>
  catalog?: Catalog
}

function paramValue(doc: Json, name: string): number | undefined {
  const p = isObj(doc.parameters) ? doc.parameters[name] : undefined
  if (typeof p === 'number') return p
  if (isObj(p) && typeof p.value === 'number') return p.value
  return undefined
}

function paramsOf(doc: Json): Record<string, number | undefined> {
  const out: Record<string, number | undefined> = {}
  if (isObj(doc.parameters)) for (const k of Object.keys(doc.parameters)) out[k] = paramValue(doc, k)
  return out
}

function isRef(v: unknown): v is string {
  return typeof v === 'string' && v.startsWith('$')
}

/** A number or parameter inside parentheses: "10", "fast = 10". */
function arg(v: unknown, ctx: Ctx): string {
  if (typeof v === 'number') return formatNumber(v)
  if (isRef(v)) {
    const value = ctx.params[v.slice(1)]
    return value === undefined ? v : `${v.slice(1)} = ${formatNumber(value)}`
  }
  return String(v)
}

/** A standalone number or parameter: "30", "30 (oversold)". */
function constant(v: unknown, ctx: Ctx): string {
  if (isRef(v)) {
    const value = ctx.params[v.slice(1)]
    return value === undefined ? v : `${formatNumber(value)} (${v.slice(1)})`
  }
  return typeof v === 'number' ? formatNumber(v) : String(v)
}

function barsAgo(v: unknown, ctx: Ctx): string {
  if (v === undefined || v === 0) return ''
  const n = isRef(v) ? ctx.params[v.slice(1)] : v
  if (n === 1) return ' 1 bar ago'
  return ` ${isRef(v) ? arg(v, ctx) : constant(v, ctx)} bars ago`
}

export function describeOperand(o: unknown, ctx: Ctx): string {
  if (typeof o === 'number' || typeof o === 'string') return constant(o, ctx)
  if (!isObj(o)) return '(an unreadable value)'
  if (typeof o.indicator === 'string') {
    const spec = ctx.catalog?.indicators.find((i) => i.name === o.indicator)
    const args: string[] = []
    const numeric = spec ? spec.params.map((p) => p.name) : Object.keys(o).filter((k) => !['indicator', 'bars_ago', 'source', 'output'].includes(k))
    for (const k of numeric) {
      const v = o[k] ?? spec?.params.find((p) => p.name === k)?.default ?? undefined
      if (v !== undefined && v !== null) args.push(arg(v, ctx))
    }
    const source = o.source
    const sourceDefault = spec?.choices.find((c) => c.name === 'source')?.default ?? 'close'
    if (typeof source === 'string' && source !== sourceDefault) args.push(PRICE_NAMES[source] ?? source)
    const outputDefault = spec?.choices.find((c) => c.name === 'output')?.default
    const output = typeof o.output === 'string' && o.output !== outputDefault ? ` ${o.output.replace(/_/g, ' ')}` : ''
    const list = args.length ? `(${args.join(', ')})` : ''
    return `${indicatorName(o.indicator)}${output}${list}${barsAgo(o.bars_ago, ctx)}`
  }
  if (typeof o.price === 'string') return `the ${PRICE_NAMES[o.price] ?? o.price}${barsAgo(o.bars_ago, ctx)}`
  if ('value' in o) return constant(o.value, ctx)
  return '(an unreadable value)'
}

export function describeCondition(c: unknown, ctx: Ctx, nested = false): string {
  if (!isObj(c)) return '(an unreadable condition)'
  for (const kind of ['all', 'any'] as const) {
    const list = c[kind]
    if (Array.isArray(list)) {
      if (list.length === 0) return kind === 'all' ? '(an empty "all" group)' : '(an empty "any" group)'
      if (list.length === 1) return describeCondition(list[0], ctx, nested)
      const text = list.map((x) => describeCondition(x, ctx, true)).join(kind === 'all' ? ' and ' : ' or ')
      return nested ? `(${text})` : text
    }
  }
  if ('not' in c) return `not (${describeCondition(c.not, ctx, false)})`
  if ('left' in c && 'right' in c && typeof c.op === 'string') {
    return `${describeOperand(c.left, ctx)} ${operatorText(c.op)} ${describeOperand(c.right, ctx)}`
  }
  return '(an unreadable condition)'
}

function pct(v: unknown, ctx: Ctx): string {
  return `${constant(v, ctx).replace(/^([\d.,]+)/, '$1%')}`
}

/** The document's rules as sentences. */
export function summarize(docIn: unknown, catalog?: Catalog): string[] {
  if (!isObj(docIn)) return ['This is not a strategy document (a JSON object).']
  const doc = docIn
  const ctx: Ctx = { params: paramsOf(doc), catalog }
  const side = typeof doc.side === 'string' ? doc.side : catalog?.side.default ?? 'long'
  const out: string[] = []
  out.push(doc.entry === undefined ? `No entry rule yet (${side}).` : `Enter ${side} when ${describeCondition(doc.entry, ctx)}.`)
  out.push(doc.exit === undefined || doc.exit === null ? 'No exit rule.' : `Exit when ${describeCondition(doc.exit, ctx)}.`)

  const risk = isObj(doc.risk) ? doc.risk : {}
  const stops: string[] = []
  if (risk.stop_loss_pct !== undefined && risk.stop_loss_pct !== null) stops.push(`a stop-loss at ${pct(risk.stop_loss_pct, ctx)}`)
  if (risk.take_profit_pct !== undefined && risk.take_profit_pct !== null) stops.push(`a take-profit at ${pct(risk.take_profit_pct, ctx)}`)
  if (risk.trailing_stop_pct !== undefined && risk.trailing_stop_pct !== null) stops.push(`a trailing stop at ${pct(risk.trailing_stop_pct, ctx)}`)
  if (stops.length) out.push(`Also closes at ${stops.join(', ').replace(/, ([^,]*)$/, ' or $1')} from the entry price.`)

  const sizing = isObj(risk.sizing) ? risk.sizing : {}
  const mode = typeof sizing.mode === 'string' ? sizing.mode : catalog?.sizingMode.default ?? 'fraction_of_equity'
  const value = sizing.value ?? catalog?.sizingValue.default ?? 1
  const v = isRef(value) ? ctx.params[value.slice(1)] : value
  if (mode === 'fraction_of_equity' && typeof v === 'number') out.push(`Each trade uses ${formatNumber(v * 100)}% of equity.`)
  else if (mode === 'fixed_quote') out.push(`Each trade is ${constant(value, ctx)} in the quote currency.`)
  else if (mode === 'risk_pct') out.push(`Each trade risks ${pct(value, ctx)} of equity at the stop-loss.`)

  const costs = isObj(doc.costs) ? doc.costs : {}
  const fee = costs.fee_bps ?? catalog?.feeBps.default
  const slip = costs.slippage_bps ?? catalog?.slippageBps.default
  const cap = doc.initial_capital ?? catalog?.initialCapital.default
  const tail: string[] = []
  if (fee !== undefined && fee !== null) tail.push(`fees of ${constant(fee, ctx)} bps per fill`)
  if (slip !== undefined && slip !== null) tail.push(`${constant(slip, ctx)} bps of slippage`)
  if (tail.length) out.push(`Costs: ${tail.join(' and ')}.`)
  if (cap !== undefined && cap !== null) out.push(`Starts with ${constant(cap, ctx)} of capital.`)
  return out
}
