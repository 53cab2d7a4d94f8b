import { inject, nextTick, provide, type InjectionKey, type Ref } from 'vue'
import type { Catalog } from './catalog'

/** What every builder field needs: the schema's catalog, the server's problems by path, and
 * the parameter names ("$name" suggestions). */
export interface BuilderContext {
  catalog: Ref<Catalog>
  problems: Ref<Map<string, string[]>>
  paramNames: Ref<string[]>
  /** Id of the <datalist> of "$name" suggestions. */
  paramListId: string
}

const KEY: InjectionKey<BuilderContext> = Symbol('strategy-builder')

export function provideBuilder(ctx: BuilderContext): void {
  provide(KEY, ctx)
}

export function useBuilder(): BuilderContext {
  const ctx = inject(KEY)
  if (!ctx) throw new Error('useBuilder() outside the strategy builder')
  return ctx
}

/** Focuses, after the DOM updates, the element of `selector` inside node `nodeId`. */
export function focusInNode(nodeId: string, selector: string): void {
  void nextTick(() => {
    const node = document.querySelector<HTMLElement>(`[data-node-id="${nodeId}"]`)
    node?.querySelector<HTMLElement>(selector)?.focus()
  })
}

/** Sets `obj[key]` (for reactive model objects a component received as a prop). */
export function patch<T extends object, K extends keyof T>(obj: T, key: K, value: T[K]): void {
  obj[key] = value
}
