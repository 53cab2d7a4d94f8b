/**
 * What the strategy builder offers, read from the strategy document's JSON Schema (the
 * `strategySchema` query, docs/strategy.schema.json): price fields, operators, every indicator
 * with its parameters (kind, bounds, default), sides, sizing modes, and the numeric fields of
 * risk, costs and capital. Nothing here is hard-coded: a new indicator in the schema shows up
 * in the builder.
 */

type Json = Record<string, unknown>

/** Bounds of a number from a schema branch. */
export interface NumberBounds {
  integer: boolean
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  exclusiveMaximum?: number
}

/** A numeric field: a number, maybe a "$parameter", maybe null. */
export interface NumberSpec {
  name: string
  title: string
  description: string
  bounds: NumberBounds
  default?: number | null
  allowsParam: boolean
  nullable: boolean
}

/** A field with a closed list of values (an indicator's source or output, the side...). */
export interface ChoiceSpec {
  name: string
  title: string
  description: string
  options: string[]
  default?: string
}

export interface IndicatorSpec {
  name: string
  title: string
  description: string
  /** Numeric parameters (period, stddev...), in the schema's order. */
  params: NumberSpec[]
  /** Enumerated settings (source, output), in the schema's order. */
  choices: ChoiceSpec[]
  /** bars_ago is accepted. */
  barsAgo: boolean
}

export interface Catalog {
  indicators: IndicatorSpec[]
  priceFields: string[]
  operators: string[]
  barsAgo: NumberSpec
  side: ChoiceSpec
  sizingMode: ChoiceSpec
  /** The sizing value, with its bounds per mode where the schema narrows them. */
  sizingValue: NumberSpec
  sizingValueByMode: Record<string, NumberBounds>
  stopLoss: NumberSpec
  takeProfit: NumberSpec
  trailingStop: NumberSpec
  feeBps: NumberSpec
  slippageBps: NumberSpec
  initialCapital: NumberSpec
  nameMaxLength?: number
}

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : ''
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined
}

/** Follows a local `$ref` ("#/$defs/x") of `root`. */
export function deref(root: Json, node: unknown): Json {
  let n: unknown = node
  for (let hops = 0; isObj(n) && typeof n.$ref === 'string' && hops < 16; hops++) {
    const ref: string = n.$ref
    if (!ref.startsWith('#/')) break
    let target: unknown = root
    for (const part of ref.slice(2).split('/')) target = isObj(target) ? target[part] : undefined
    n = target
  }
  return isObj(n) ? n : {}
}

function isParamRef(root: Json, branch: unknown): boolean {
  return isObj(branch) && (branch.$ref === '#/$defs/parameterRef' || (typeof deref(root, branch).pattern === 'string' && str(deref(root, branch).pattern).startsWith('^\\$')))
}

function boundsOf(branch: Json): NumberBounds {
  return {
    integer: branch.type === 'integer',
    minimum: num(branch.minimum),
    maximum: num(branch.maximum),
    exclusiveMinimum: num(branch.exclusiveMinimum),
    exclusiveMaximum: num(branch.exclusiveMaximum),
  }
}

function numericBranch(root: Json, prop: Json): Json | null {
  const branches = Array.isArray(prop.anyOf) ? prop.anyOf : Array.isArray(prop.oneOf) ? prop.oneOf : [prop]
  for (const b of branches) {
    const d = deref(root, b)
    if (d.type === 'number' || d.type === 'integer') return d
  }
  return null
}

/** A numeric field's spec, or null when the property is not numeric. */
export function numberSpec(root: Json, name: string, propIn: unknown): NumberSpec | null {
  const prop = deref(root, propIn)
  const branch = numericBranch(root, prop)
  if (!branch) return null
  const branches: unknown[] = Array.isArray(prop.anyOf) ? prop.anyOf : Array.isArray(prop.oneOf) ? prop.oneOf : [prop]
  const def = prop.default
  return {
    name,
    title: str(prop.title) || name,
    description: str(prop.description),
    bounds: boundsOf(branch),
    default: typeof def === 'number' || def === null ? def : undefined,
    allowsParam: branches.some((b) => isParamRef(root, b)),
    nullable: branches.some((b) => deref(root, b).type === 'null'),
  }
}

function choiceSpec(root: Json, name: string, propIn: unknown): ChoiceSpec | null {
  const prop = deref(root, propIn)
  if (!Array.isArray(prop.enum)) return null
  return {
    name,
    title: str(prop.title) || name,
    description: str(prop.description),
    options: prop.enum.map(String),
    default: typeof prop.default === 'string' ? prop.default : undefined,
  }
}

function props(node: Json): Json {
  return isObj(node.properties) ? node.properties : {}
}

function refsOf(root: Json, node: Json): Json[] {
  const list = Array.isArray(node.oneOf) ? node.oneOf : Array.isArray(node.anyOf) ? node.anyOf : []
  return list.map((b) => deref(root, b))
}

function indicatorSpec(root: Json, def: Json): IndicatorSpec | null {
  const p = props(def)
  const tag = deref(root, p.indicator)
  const name = typeof tag.const === 'string' ? tag.const : undefined
  if (!name) return null
  const params: NumberSpec[] = []
  const choices: ChoiceSpec[] = []
  let barsAgo = false
  for (const [key, value] of Object.entries(p)) {
    if (key === 'indicator') continue
    if (key === 'bars_ago') {
      barsAgo = true
      continue
    }
    const choice = choiceSpec(root, key, value)
    if (choice) {
      choices.push(choice)
      continue
    }
    const n = numberSpec(root, key, value)
    if (n) params.push(n)
  }
  return { name, title: str(def.title) || name, description: str(def.description), params, choices, barsAgo }
}

function fallbackNumber(name: string): NumberSpec {
  return { name, title: name, description: '', bounds: { integer: false }, allowsParam: true, nullable: false }
}

function fallbackChoice(name: string): ChoiceSpec {
  return { name, title: name, description: '', options: [] }
}

/** Per-mode bounds of risk.sizing.value from the schema's `allOf` if/then rules. */
function sizingByMode(root: Json): Record<string, NumberBounds> {
  const out: Record<string, NumberBounds> = {}
  const all = Array.isArray(root.allOf) ? root.allOf : []
  for (const rule of all) {
    if (!isObj(rule) || !isObj(rule.if) || !isObj(rule.then)) continue
    const mode = deref(root, props(deref(root, props(deref(root, props(rule.if).risk)).sizing)).mode)
    const value = props(deref(root, props(deref(root, props(rule.then).risk)).sizing)).value
    if (typeof mode.const !== 'string' || !isObj(value)) continue
    const branch = numericBranch(root, value)
    if (branch) out[mode.const] = boundsOf(branch)
  }
  return out
}

/** The builder's catalog from the strategy JSON Schema. */
export function catalogFromSchema(schema: unknown): Catalog {
  const root: Json = isObj(schema) ? schema : {}
  const defs = isObj(root.$defs) ? root.$defs : {}
  const top = props(root)
  const risk = props(deref(root, top.risk))
  const sizing = props(deref(root, risk.sizing))
  const costs = props(deref(root, top.costs))
  const compare = props(deref(root, defs.condition_compare))
  const price = props(deref(root, defs.operand_price))
  const indicators = refsOf(root, deref(root, defs.indicator))
    .map((d) => indicatorSpec(root, d))
    .filter((s): s is IndicatorSpec => s !== null)
  const name = deref(root, top.name)
  return {
    indicators,
    priceFields: choiceSpec(root, 'price', price.price)?.options ?? [],
    operators: choiceSpec(root, 'op', compare.op)?.options ?? [],
    barsAgo: numberSpec(root, 'bars_ago', defs.barsAgo) ?? fallbackNumber('bars_ago'),
    side: choiceSpec(root, 'side', top.side) ?? fallbackChoice('side'),
    sizingMode: choiceSpec(root, 'mode', sizing.mode) ?? fallbackChoice('mode'),
    sizingValue: numberSpec(root, 'value', sizing.value) ?? fallbackNumber('value'),
    sizingValueByMode: sizingByMode(root),
    stopLoss: numberSpec(root, 'stop_loss_pct', risk.stop_loss_pct) ?? fallbackNumber('stop_loss_pct'),
    takeProfit: numberSpec(root, 'take_profit_pct', risk.take_profit_pct) ?? fallbackNumber('take_profit_pct'),
    trailingStop: numberSpec(root, 'trailing_stop_pct', risk.trailing_stop_pct) ?? fallbackNumber('trailing_stop_pct'),
    feeBps: numberSpec(root, 'fee_bps', costs.fee_bps) ?? fallbackNumber('fee_bps'),
    slippageBps: numberSpec(root, 'slippage_bps', costs.slippage_bps) ?? fallbackNumber('slippage_bps'),
    initialCapital: numberSpec(root, 'initial_capital', top.initial_capital) ?? fallbackNumber('initial_capital'),
    nameMaxLength: num(name.maxLength),
  }
}

/** "integer, 1 to 1,000,000,000" for a hint under a field. */
export function describeBounds(b: NumberBounds): string {
  const f = (n: number) => n.toLocaleString('en-US')
  const lo = b.exclusiveMinimum !== undefined ? `> ${f(b.exclusiveMinimum)}` : b.minimum !== undefined ? `≥ ${f(b.minimum)}` : ''
  const hi = b.exclusiveMaximum !== undefined ? `< ${f(b.exclusiveMaximum)}` : b.maximum !== undefined ? `≤ ${f(b.maximum)}` : ''
  const range = [lo, hi].filter(Boolean).join(' and ')
  return [b.integer ? 'integer' : 'number', range].filter(Boolean).join(', ')
}
