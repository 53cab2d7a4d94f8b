import { describe, expect, test } from 'vitest'
import { ref } from 'vue'
import { useCursorPager, type PageInfoLike } from './useCursorPager'

describe('useCursorPager', () => {
  test('forwards with first/after, back with last/before, the first page without a cursor', () => {
    const total = ref<number | undefined>(25)
    const info = ref<PageInfoLike | undefined>({ hasNextPage: true, startCursor: 'a1', endCursor: 'a10' })
    const p = useCursorPager(10, total, info)
    expect(p.variables.value).toEqual({ first: 10, after: null })
    expect([p.page.value, p.pages.value, p.hasPrev.value, p.hasNext.value]).toEqual([1, 3, false, true])

    p.next()
    expect(p.variables.value).toEqual({ first: 10, after: 'a10' })
    info.value = { hasNextPage: true, startCursor: 'a11', endCursor: 'a20' }
    p.next()
    expect(p.page.value).toBe(3)
    info.value = { hasNextPage: false, startCursor: 'a21', endCursor: 'a25' }
    expect(p.hasNext.value).toBe(false)
    p.next() // nothing after the last page
    expect(p.page.value).toBe(3)

    p.prev()
    expect(p.variables.value).toEqual({ last: 10, before: 'a21' })
    expect(p.page.value).toBe(2)
    // paging backwards, hasNextPage means "before was given": the page number decides
    info.value = { hasNextPage: true, startCursor: 'a11', endCursor: 'a20' }
    expect(p.hasNext.value).toBe(true)
    p.prev()
    expect(p.variables.value).toEqual({ first: 10, after: null })
    expect(p.page.value).toBe(1)
  })

  test('reset goes back to the first page', () => {
    const p = useCursorPager(5, ref(12), ref({ hasNextPage: true, endCursor: 'x' }))
    p.next()
    p.reset()
    expect([p.page.value, p.variables.value]).toEqual([1, { first: 5, after: null }])
    expect(useCursorPager(5, ref(undefined), ref(undefined)).pages.value).toBe(1)
  })
})
