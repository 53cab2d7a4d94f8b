/**
 * The builder's model of a strategy document, and the transforms both ways.
 *
 * `fromDocument(doc)` then `toDocument(model)` gives back an equal document (same keys, same
 * values: absent stays absent, `{"value": 5}` stays wrapped, a number shorthand parameter stays
 * a number). What the builder cannot show (a malformed condition or operand) is kept as a
 * `raw` node with its JSON, shown read-only, so that editing elsewhere never loses it.
 *
 * Numbers the user types are `Num`: a number, or a string ("$fast", or text that is not a
 * number, which is kept so that the server reports it at its field).
 */

export type Num = number | string

export type Operand =
  /** `5`, `"$x"` (wrapped: false) or `{"value": 5}` (wrapped: true). */
  | { kind: 'constant'; value: Num | undefined; wrapped: boolean }
  | { kind: 'price'; field: string; barsAgo?: Num }
  /** `args`: every key but `indicator` and `bars_ago` (period, source, output...). */
  | { kind: 'indicator'; name: string; args: Record<string, Num | undefined>; barsAgo?: Num }
  | { kind: 'raw'; json: unknown }

export type GroupKind = 'all' | 'any'

export type Condition =
  | { id: string; kind: GroupKind; children: Condition[] }
  | { id: string; kind: 'not'; child: Condition }
  | { id: string; kind: 'compare'; left: Operand; op: string; right: Operand }
  | { id: string; kind: 'raw'; json: unknown }

/** An all/any group. */
export type GroupNode = Extract<Condition, { children: Condition[] }>

export type ParamMode = 'single' | 'range' | 'values'

export interface ParamRow {
  id: string
  name: string
  value: Num | undefined
  mode: ParamMode
  range: { start: Num | undefined; stop: Num | undefined; step: Num | undefined }
  values: Num[]
  /** Was a bare number in the document (kept so while it has no range/values). */
  shorthand: boolean
  /** A parameter the table cannot show (kept as its JSON). */
  raw?: { json: unknown }
}

export interface StrategyModel {
  /** Every top-level key but entry, exit and parameters, as JSON (name, side, risk, costs...). */
  rest: Record<string, unknown>
  /** undefined: the document has no "parameters" key. */
  parameters: ParamRow[] | undefined
  /** A raw "parameters" value that is not an object. */
  parametersRaw?: unknown
  entry: Condition | undefined
  /** undefined: absent; null: explicitly null. */
  exit: Condition | null | undefined
  /** Top-level key order of the source document. */
  order: string[]
}

let counter = 0
export function newId(): string {
  counter += 1
  return `n${counter}`
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T)
}

function isNum(v: unknown): v is Num {
  return typeof v === 'number' || typeof v === 'string'
}

function keysWithin(o: Record<string, unknown>, allowed: string[]): boolean {
  return Object.keys(o).every((k) => allowed.includes(k))
}

// ---------------------------------------------------------------- operands

export function operandFromJson(v: unknown): Operand {
  if (isNum(v)) return { kind: 'constant', value: v, wrapped: false }
  if (isObj(v)) {
    if ('indicator' in v && typeof v.indicator === 'string') {
      const args: Record<string, Num | undefined> = {}
      let ok = true
      for (const [k, a] of Object.entries(v)) {
        if (k === 'indicator' || k === 'bars_ago') continue
        if (isNum(a)) args[k] = a
        else ok = false
      }
      if (ok && (v.bars_ago === undefined || isNum(v.bars_ago))) {
        const op: Operand = { kind: 'indicator', name: v.indicator, args }
        if (v.bars_ago !== undefined) op.barsAgo = v.bars_ago as Num
        return op
      }
    } else if ('price' in v && typeof v.price === 'string' && keysWithin(v, ['price', 'bars_ago'])) {
      if (v.bars_ago === undefined) return { kind: 'price', field: v.price }
      if (isNum(v.bars_ago)) return { kind: 'price', field: v.price, barsAgo: v.bars_ago }
    } else if ('value' in v && keysWithin(v, ['value']) && isNum(v.value)) {
      return { kind: 'constant', value: v.value, wrapped: true }
    }
  }
  return { kind: 'raw', json: clone(v) }
}

export function operandToJson(o: Operand): unknown {
  switch (o.kind) {
    case 'constant':
      return o.wrapped ? (o.value === undefined ? {} : { value: o.value }) : o.value
    case 'price':
      return o.barsAgo === undefined ? { price: o.field } : { price: o.field, bars_ago: o.barsAgo }
    case 'indicator': {
      const out: Record<string, unknown> = { indicator: o.name }
      for (const [k, a] of Object.entries(o.args)) if (a !== undefined) out[k] = a
      if (o.barsAgo !== undefined) out.bars_ago = o.barsAgo
      return out
    }
    case 'raw':
      return clone(o.json)
    default: {
      const never: never = o
      return never
    }
  }
}

// ---------------------------------------------------------------- conditions

export function conditionFromJson(v: unknown): Condition {
  if (isObj(v)) {
    const keys = Object.keys(v)
    if (keys.length === 1 && (keys[0] === 'all' || keys[0] === 'any')) {
      const kind = keys[0]
      const list = v[kind]
      if (Array.isArray(list)) return { id: newId(), kind, children: list.map(conditionFromJson) }
    } else if (keys.length === 1 && keys[0] === 'not') {
      return { id: newId(), kind: 'not', child: conditionFromJson(v.not) }
    } else if (keys.length === 3 && 'left' in v && 'right' in v && typeof v.op === 'string') {
      return { id: newId(), kind: 'compare', left: operandFromJson(v.left), op: v.op, right: operandFromJson(v.right) }
    }
  }
  return { id: newId(), kind: 'raw', json: clone(v) }
}

export function conditionToJson(c: Condition): unknown {
  switch (c.kind) {
    case 'all':
      return { all: c.children.map(conditionToJson) }
    case 'any':
      return { any: c.children.map(conditionToJson) }
    case 'not':
      return { not: conditionToJson(c.child) }
    case 'compare':
      return { left: operandToJson(c.left), op: c.op, right: operandToJson(c.right) }
    case 'raw':
      return clone(c.json)
    default: {
      const never: never = c
      return never
    }
  }
}

// ---------------------------------------------------------------- parameters

function emptyRange(): ParamRow['range'] {
  return { start: undefined, stop: undefined, step: undefined }
}

export function newParam(name: string, value: Num | undefined = undefined): ParamRow {
  return { id: newId(), name, value, mode: 'single', range: emptyRange(), values: [], shorthand: false }
}

export function paramFromJson(name: string, v: unknown): ParamRow {
  const row = newParam(name)
  if (typeof v === 'number') return { ...row, value: v, shorthand: true }
  if (isObj(v) && keysWithin(v, ['value', 'range', 'values']) && !('range' in v && 'values' in v)) {
    const value = v.value
    const range = v.range
    const values = v.values
    const okValue = value === undefined || isNum(value)
    const okRange = range === undefined || (isObj(range) && keysWithin(range, ['start', 'stop', 'step']) && Object.values(range).every(isNum))
    const okValues = values === undefined || (Array.isArray(values) && values.every(isNum))
    if (okValue && okRange && okValues) {
      row.value = value as Num | undefined
      if (isObj(range)) {
        row.mode = 'range'
        row.range = { start: range.start as Num | undefined, stop: range.stop as Num | undefined, step: range.step as Num | undefined }
      } else if (Array.isArray(values)) {
        row.mode = 'values'
        row.values = values as Num[]
      }
      return row
    }
  }
  return { ...row, raw: { json: clone(v) } }
}

export function paramToJson(p: ParamRow): unknown {
  if (p.raw) return clone(p.raw.json)
  if (p.shorthand && p.mode === 'single' && typeof p.value === 'number') return p.value
  const out: Record<string, unknown> = {}
  if (p.value !== undefined) out.value = p.value
  if (p.mode === 'range') {
    const r: Record<string, unknown> = {}
    if (p.range.start !== undefined) r.start = p.range.start
    if (p.range.stop !== undefined) r.stop = p.range.stop
    if (p.range.step !== undefined) r.step = p.range.step
    out.range = r
  } else if (p.mode === 'values') {
    out.values = [...p.values]
  }
  return out
}

// ---------------------------------------------------------------- documents

const OWN_KEYS = ['parameters', 'entry', 'exit']

/** The builder model of a document (any JSON object; null when `doc` is not an object). */
export function fromDocument(doc: unknown): StrategyModel | null {
  if (!isObj(doc)) return null
  const rest: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(doc)) if (!OWN_KEYS.includes(k)) rest[k] = clone(v)
  const model: StrategyModel = {
    rest,
    parameters: undefined,
    entry: 'entry' in doc ? conditionFromJson(doc.entry) : undefined,
    exit: !('exit' in doc) ? undefined : doc.exit === null ? null : conditionFromJson(doc.exit),
    order: Object.keys(doc),
  }
  if ('parameters' in doc) {
    if (isObj(doc.parameters)) model.parameters = Object.entries(doc.parameters).map(([k, v]) => paramFromJson(k, v))
    else model.parametersRaw = clone(doc.parameters)
  }
  return model
}

/** Top-level keys in the order a document is written (the schema's). */
export const KEY_ORDER = ['name', 'description', 'side', 'parameters', 'entry', 'exit', 'risk', 'costs', 'initial_capital']

/** The document the model describes. */
export function toDocument(m: StrategyModel): Record<string, unknown> {
  const parts: Record<string, unknown> = { ...clone(m.rest) }
  if (m.parameters !== undefined) {
    const params: Record<string, unknown> = {}
    for (const p of m.parameters) params[p.name] = paramToJson(p)
    parts.parameters = params
  } else if (m.parametersRaw !== undefined) {
    parts.parameters = clone(m.parametersRaw)
  }
  if (m.entry !== undefined) parts.entry = conditionToJson(m.entry)
  if (m.exit !== undefined) parts.exit = m.exit === null ? null : conditionToJson(m.exit)
  const order = [...m.order, ...KEY_ORDER.filter((k) => !m.order.includes(k)), ...Object.keys(parts)]
  const out: Record<string, unknown> = {}
  for (const k of order) if (k in parts && !(k in out)) out[k] = parts[k]
  return out
}

/** Names of the model's parameters (for "$name" suggestions). */
export function parameterNames(m: StrategyModel): string[] {
  return (m.parameters ?? []).map((p) => p.name).filter((n) => n !== '')
}

/**
 * Renames every `"$from"` reference to `"$to"` (operands, bars_ago, indicator arguments, risk
 * and cost settings, other parameters' values and ranges, raw nodes), in place. Returns how many
 * were changed. Nothing changes when either name is empty or they are equal.
 */
export function renameParamRefs(m: StrategyModel, from: string, to: string): number {
  if (!from || !to || from === to) return 0
  const old = `$${from}`
  const next = `$${to}`
  let n = 0
  const num = <T extends Num | undefined>(v: T): T => {
    if (v !== old) return v
    n++
    return next as T
  }
  const json = (v: unknown): unknown => {
    if (typeof v === 'string') return num(v)
    if (Array.isArray(v)) return v.map(json)
    if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, json(x)]))
    return v
  }
  const operand = (o: Operand): void => {
    if (o.kind === 'constant') o.value = num(o.value)
    else if (o.kind === 'price') {
      if (o.barsAgo !== undefined) o.barsAgo = num(o.barsAgo)
    } else if (o.kind === 'indicator') {
      for (const k of Object.keys(o.args)) o.args[k] = num(o.args[k])
      if (o.barsAgo !== undefined) o.barsAgo = num(o.barsAgo)
    } else o.json = json(o.json)
  }
  const condition = (c: Condition | null | undefined): void => {
    if (!c) return
    if (c.kind === 'all' || c.kind === 'any') c.children.forEach(condition)
    else if (c.kind === 'not') condition(c.child)
    else if (c.kind === 'compare') {
      operand(c.left)
      operand(c.right)
    } else if (c.kind === 'raw') c.json = json(c.json)
  }
  condition(m.entry)
  condition(m.exit)
  for (const k of Object.keys(m.rest)) m.rest[k] = json(m.rest[k])
  for (const p of m.parameters ?? []) {
    if (p.raw) {
      p.raw.json = json(p.raw.json)
      continue
    }
    p.value = num(p.value)
    p.range = { start: num(p.range.start), stop: num(p.range.stop), step: num(p.range.step) }
    p.values = p.values.map(num)
  }
  return n
}

// ---------------------------------------------------------------- tree edits (in place)

export interface Place {
  /** The group whose `children` hold the node, or the `not` that holds it. */
  parent: Condition
  index: number
}

/** Where node `id` sits under `root` (null for the root itself or when absent). */
export function findPlace(root: Condition, id: string): Place | null {
  if (root.kind === 'all' || root.kind === 'any') {
    for (let i = 0; i < root.children.length; i++) {
      const child = root.children[i]!
      if (child.id === id) return { parent: root, index: i }
      const found = findPlace(child, id)
      if (found) return found
    }
  } else if (root.kind === 'not') {
    if (root.child.id === id) return { parent: root, index: 0 }
    return findPlace(root.child, id)
  }
  return null
}

/** Moves a group's child one place up (-1) or down (+1); false when it cannot move. */
export function moveChild(root: Condition, id: string, delta: -1 | 1): boolean {
  const place = findPlace(root, id)
  if (!place || (place.parent.kind !== 'all' && place.parent.kind !== 'any')) return false
  const list = place.parent.children
  const to = place.index + delta
  if (to < 0 || to >= list.length) return false
  const [node] = list.splice(place.index, 1)
  list.splice(to, 0, node!)
  return true
}

/** Moves a group's child `index` into the group just before it (at its end); false when the
 * previous sibling is not an all/any group. */
export function moveIntoPrevious(group: Condition, index: number): boolean {
  if (group.kind !== 'all' && group.kind !== 'any') return false
  const target = group.children[index - 1]
  if (!target || (target.kind !== 'all' && target.kind !== 'any')) return false
  const [node] = group.children.splice(index, 1)
  target.children.push(node!)
  return true
}

/** Moves child `childIndex` of the group at `groupIndex` of `outer` out of that group, into
 * `outer` just after it; false when either is not an all/any group or the child is absent. */
export function moveOut(outer: Condition, groupIndex: number, childIndex: number): boolean {
  if (outer.kind !== 'all' && outer.kind !== 'any') return false
  const group = outer.children[groupIndex]
  if (!group || (group.kind !== 'all' && group.kind !== 'any') || !group.children[childIndex]) return false
  const [node] = group.children.splice(childIndex, 1)
  outer.children.splice(groupIndex + 1, 0, node!)
  return true
}

/** Removes node `id` from its group (a `not` is removed with it); returns its parent's id. */
export function removeNode(root: Condition, id: string): string | null {
  const place = findPlace(root, id)
  if (!place) return null
  const { parent } = place
  if (parent.kind === 'all' || parent.kind === 'any') {
    parent.children.splice(place.index, 1)
    return parent.id
  }
  if (parent.kind === 'not') return removeNode(root, parent.id)
  return null
}

/** Replaces node `id` (anywhere below `root`) by `next`; returns the new root. */
export function replaceNode(root: Condition, id: string, next: Condition): Condition {
  if (root.id === id) return next
  const place = findPlace(root, id)
  if (!place) return root
  if (place.parent.kind === 'all' || place.parent.kind === 'any') place.parent.children.splice(place.index, 1, next)
  else if (place.parent.kind === 'not') place.parent.child = next
  return root
}

/** Adds `child` to the root: into it when it is a group, else both under a new "all". */
export function addToRoot(root: Condition | undefined | null, child: Condition): Condition {
  if (!root) return child
  if (root.kind === 'all' || root.kind === 'any') {
    root.children.push(child)
    return root
  }
  return { id: newId(), kind: 'all', children: [root, child] }
}

// ---------------------------------------------------------------- paths

/** The document path of a child of `parent` (a group's i-th child, or a `not`'s child). */
export function childPath(parentPath: string, parent: Condition, index: number): string {
  return parent.kind === 'not' ? `${parentPath}.not` : `${parentPath}.${parent.kind}[${index}]`
}

/** Every path the builder shows a field or node at (for placing server problems). */
export function fieldPaths(m: StrategyModel, indicatorParams: (name: string) => string[]): Set<string> {
  const out = new Set<string>(['name', 'description', 'side', 'parameters', 'entry', 'exit', 'risk', 'costs', 'initial_capital',
    'risk.stop_loss_pct', 'risk.take_profit_pct', 'risk.trailing_stop_pct', 'risk.sizing', 'risk.sizing.mode', 'risk.sizing.value',
    'costs.fee_bps', 'costs.slippage_bps'])
  const operand = (path: string, o: Operand) => {
    out.add(path)
    if (o.kind === 'constant' && o.wrapped) out.add(`${path}.value`)
    if (o.kind === 'price') {
      out.add(`${path}.price`)
      out.add(`${path}.bars_ago`)
    }
    if (o.kind === 'indicator') {
      out.add(`${path}.indicator`)
      out.add(`${path}.bars_ago`)
      for (const k of new Set([...Object.keys(o.args), ...indicatorParams(o.name)])) out.add(`${path}.${k}`)
    }
  }
  const walk = (path: string, c: Condition) => {
    out.add(path)
    if (c.kind === 'all' || c.kind === 'any') c.children.forEach((ch, i) => walk(`${path}.${c.kind}[${i}]`, ch))
    else if (c.kind === 'not') walk(`${path}.not`, c.child)
    else if (c.kind === 'compare') {
      operand(`${path}.left`, c.left)
      out.add(`${path}.op`)
      operand(`${path}.right`, c.right)
    }
  }
  if (m.entry) walk('entry', m.entry)
  if (m.exit) walk('exit', m.exit)
  for (const p of m.parameters ?? []) {
    const base = `parameters.${p.name}`
    for (const s of ['', '.value', '.range', '.range.start', '.range.stop', '.range.step', '.values']) out.add(base + s)
  }
  return out
}

// ---------------------------------------------------------------- typed input

/** What a number field's text means: '' → undefined, "12.5" → 12.5, anything else kept as text. */
export function parseNum(text: string): Num | undefined {
  const t = text.trim()
  if (t === '') return undefined
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t)
  return t
}

export function formatNum(v: Num | undefined | null): string {
  return v === undefined || v === null ? '' : String(v)
}

/** Reads `a.b.c` of a JSON object. */
export function getAt(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj
  for (const part of path.split('.')) cur = isObj(cur) ? cur[part] : undefined
  return cur
}

/** Writes `a.b.c` (creating objects on the way); `undefined` deletes the key. */
export function setAt(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.')
  let cur = obj
  for (const part of parts.slice(0, -1)) {
    if (!isObj(cur[part])) {
      if (value === undefined) return
      cur[part] = {}
    }
    cur = cur[part] as Record<string, unknown>
  }
  const last = parts[parts.length - 1]!
  if (value === undefined) delete cur[last]
  else cur[last] = value
}
