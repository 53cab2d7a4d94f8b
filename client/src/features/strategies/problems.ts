/**
 * Server validation problems placed at the builder's fields.
 *
 * The API names the value at fault by its path under the mutation's input
 * (`input.document.entry.all[1].left.period`, `input.name`). `documentPath` makes that a path
 * in the document (`entry.all[1].left.period`); `placeProblems` puts each problem at the
 * nearest path the builder shows (the field itself, else its operand, condition or section);
 * what has no place (an unknown top-level key, the document as a whole) is listed apart.
 */

export interface Problem {
  path: string
  message: string
}

/** The document path of an API path, or null when it is not about the document. */
export function documentPath(apiPath: string): string | null {
  if (apiPath === 'input.name') return 'name'
  if (apiPath === 'input.document') return ''
  if (apiPath.startsWith('input.document.')) return apiPath.slice('input.document.'.length)
  if (apiPath.startsWith('document.')) return apiPath.slice('document.'.length)
  return null
}

/** `entry.all[1].left.period` → its ancestors, nearest first, itself included. */
export function ancestors(path: string): string[] {
  const out: string[] = []
  let p = path
  while (p !== '') {
    out.push(p)
    const cut = Math.max(p.lastIndexOf('.'), p.endsWith(']') ? p.lastIndexOf('[') : -1)
    p = cut <= 0 ? '' : p.slice(0, cut)
  }
  return out
}

export interface PlacedProblems {
  /** Builder path → messages. */
  at: Map<string, string[]>
  /** Problems no field shows (with their document path, or the API path). */
  unplaced: Problem[]
}

/** Places each problem at the nearest of `known` paths. */
export function placeProblems(problems: readonly Problem[], known: ReadonlySet<string>): PlacedProblems {
  const at = new Map<string, string[]>()
  const unplaced: Problem[] = []
  for (const p of problems) {
    const doc = documentPath(p.path)
    const target = doc === null ? undefined : ancestors(doc).find((a) => known.has(a))
    if (target === undefined) {
      unplaced.push({ path: doc === null || doc === '' ? p.path : doc, message: p.message })
      continue
    }
    const list = at.get(target) ?? []
    list.push(doc === target ? p.message : `${doc!.slice(target.length).replace(/^\./, '')}: ${p.message}`)
    at.set(target, list)
  }
  return { at, unplaced }
}

/** A DOM id for a field path (`entry.all[1].left.period` → `f-entry-all-1-left-period`). */
export function fieldId(path: string): string {
  return `f-${path.replace(/[^A-Za-z0-9_]+/g, '-').replace(/-+$/, '')}`
}
