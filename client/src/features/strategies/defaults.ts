/** New builder pieces with the schema's defaults. */
import type { Catalog } from './catalog'
import { conditionToJson, newId, type Condition, type Num, type Operand } from './model'

/** An indicator operand with every parameter at its schema default. */
export function newIndicator(catalog: Catalog, name: string, keep?: Operand): Operand {
  const spec = catalog.indicators.find((i) => i.name === name)
  const args: Record<string, Num | undefined> = {}
  for (const p of spec?.params ?? []) {
    const kept = keep?.kind === 'indicator' ? keep.args[p.name] : undefined
    const def = p.default
    args[p.name] = kept ?? (typeof def === 'number' ? def : undefined)
  }
  const out: Operand = { kind: 'indicator', name, args }
  if ((keep?.kind === 'indicator' || keep?.kind === 'price') && keep.barsAgo !== undefined && spec?.barsAgo !== false) out.barsAgo = keep.barsAgo
  return out
}

/** The operand for a picker choice: "price:close", "indicator:sma" or "constant". */
export function newOperand(catalog: Catalog, choice: string, keep?: Operand): Operand | null {
  if (choice.startsWith('price:')) {
    const out: Operand = { kind: 'price', field: choice.slice(6) }
    if ((keep?.kind === 'indicator' || keep?.kind === 'price') && keep.barsAgo !== undefined) out.barsAgo = keep.barsAgo
    return out
  }
  if (choice.startsWith('indicator:')) return newIndicator(catalog, choice.slice(10), keep)
  if (choice === 'constant') return { kind: 'constant', value: keep?.kind === 'constant' ? keep.value : 0, wrapped: false }
  return null
}

/** A new comparison: the close above the first indicator at its defaults. */
export function newCompare(catalog: Catalog): Condition {
  const first = catalog.indicators[0]
  return {
    id: newId(),
    kind: 'compare',
    left: { kind: 'price', field: catalog.priceFields.includes('close') ? 'close' : catalog.priceFields[0] ?? 'close' },
    op: catalog.operators[0] ?? '>',
    right: first ? newIndicator(catalog, first.name) : { kind: 'constant', value: 0, wrapped: false },
  }
}

/** The document a new strategy starts from. */
export function newDocument(catalog: Catalog): Record<string, unknown> {
  return { name: '', side: catalog.side.default ?? 'long', entry: conditionToJson(newCompare(catalog)) }
}
