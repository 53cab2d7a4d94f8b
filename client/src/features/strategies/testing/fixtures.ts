// Test fixtures: the repository's strategy JSON Schema and examples/*.json.
import schema from '../../../../../docs/strategy.schema.json'

export const SCHEMA: unknown = schema

const files = import.meta.glob<Record<string, unknown>>('../../../../../examples/*.json', { eager: true, import: 'default' })

export const EXAMPLES: [string, Record<string, unknown>][] = Object.entries(files)
  .map(([path, doc]): [string, Record<string, unknown>] => [path.split('/').pop()!, doc])
  .sort(([a], [b]) => (a < b ? -1 : 1))

export function example(name: string): Record<string, unknown> {
  const found = EXAMPLES.find(([f]) => f === `${name}.json`)
  if (!found) throw new Error(`no example ${name}`)
  return structuredClone(found[1])
}
