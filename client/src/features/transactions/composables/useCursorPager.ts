import { computed, ref, type Ref } from 'vue'

export interface PageInfoLike {
  hasNextPage: boolean
  startCursor?: string | null
  endCursor?: string | null
}

/**
 * Relay paging a page at a time (first/after forwards, last/before backwards), numbered for
 * the "page 2 of 7" line. `reset()` goes back to the first page (after a filter changes).
 */
export function useCursorPager(size: number, total: Ref<number | undefined>, pageInfo: Ref<PageInfoLike | undefined>) {
  const cursor = ref<{ after?: string | null; before?: string | null }>({})
  const page = ref(1)
  const variables = computed(() =>
    cursor.value.before ? { last: size, before: cursor.value.before } : { first: size, after: cursor.value.after ?? null },
  )
  const pages = computed(() => Math.max(1, Math.ceil((total.value ?? 0) / size)))
  const hasNext = computed(() => (cursor.value.before ? page.value < pages.value : (pageInfo.value?.hasNextPage ?? false)))
  const hasPrev = computed(() => page.value > 1)

  function next(): void {
    const c = pageInfo.value?.endCursor
    if (c && hasNext.value) {
      cursor.value = { after: c }
      page.value++
    }
  }
  function prev(): void {
    const c = pageInfo.value?.startCursor
    if (!hasPrev.value) return
    if (page.value === 2 || !c) cursor.value = {}
    else cursor.value = { before: c }
    page.value = Math.max(1, page.value - 1)
  }
  function reset(): void {
    cursor.value = {}
    page.value = 1
  }
  return { variables, page, pages, hasNext, hasPrev, next, prev, reset }
}
