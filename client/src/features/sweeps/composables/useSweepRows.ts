import { markRaw, shallowRef, watch, type Ref } from 'vue'
import { useClientHandle, type OperationResult } from '@urql/vue'
import { SweepRowsDocument, type SweepRowsQuery } from '@/graphql/generated/graphql'
import { errorMessage } from '@/lib/errors'
import { numericParams, type SweepRowLike } from '../heatmap'

/** The API's largest page (graph.types_common.MAX_PAGE_SIZE). */
export const ROWS_PAGE = 100

/**
 * Every stored row of a succeeded sweep (at most the best 1,000), page by page (100 a request,
 * the API's most), for the heatmap and the scatter. Kept out of Vue's reactivity.
 */
export function useSweepRows(id: Ref<string>, ready: Ref<boolean>) {
  const handle = useClientHandle()
  const rows = shallowRef<readonly SweepRowLike[]>([])
  const total = shallowRef<number | null>(null)
  const loading = shallowRef(false)
  const error = shallowRef<string | null>(null)
  let run = 0

  async function load(): Promise<void> {
    const mine = ++run
    loading.value = true
    error.value = null
    const all: SweepRowLike[] = []
    let after: string | null = null
    try {
      for (;;) {
        const r: OperationResult<SweepRowsQuery> = await handle.client
          .query(SweepRowsDocument, { id: id.value, first: ROWS_PAGE, after })
          .toPromise()
        if (mine !== run) return
        if (r.error) throw new Error(errorMessage(r.error))
        const conn = r.data?.sweep.rows
        if (!conn) break
        total.value = conn.totalCount
        for (const e of conn.edges) all.push({ rank: e.node.rank, params: numericParams(e.node.params), metrics: e.node.metrics })
        if (!conn.pageInfo.hasNextPage || !conn.pageInfo.endCursor) break
        after = conn.pageInfo.endCursor
      }
      rows.value = markRaw(all)
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e)
    } finally {
      if (mine === run) loading.value = false
    }
  }

  watch(
    () => [id.value, ready.value] as const,
    ([, r]) => {
      if (r) void load()
    },
    { immediate: true },
  )
  return { rows, total, loading, error, reload: load }
}
