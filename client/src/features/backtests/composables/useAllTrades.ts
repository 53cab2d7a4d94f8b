import { markRaw, shallowRef, watch, type Ref } from 'vue'
import { useClientHandle } from '@urql/vue'
import {
  BacktestTradesDocument,
  type BacktestTradeFieldsFragment,
  type BacktestTradesQuery,
} from '@/graphql/generated/graphql'
import type { OperationResult } from '@urql/vue'

const PAGE = 100

/**
 * Every trade of a finished backtest in trade order (pages of 100, the API's most), for the
 * chart's markers and the exports. Kept out of Vue's reactivity.
 */
export function useAllTrades(id: Ref<string>, ready: Ref<boolean>) {
  const handle = useClientHandle()
  const trades = shallowRef<readonly BacktestTradeFieldsFragment[]>([])
  const loading = shallowRef(false)
  const error = shallowRef<string | null>(null)
  let run = 0

  async function load(): Promise<void> {
    const mine = ++run
    loading.value = true
    error.value = null
    const all: BacktestTradeFieldsFragment[] = []
    let after: string | null = null
    try {
      for (;;) {
        const r: OperationResult<BacktestTradesQuery> = await handle.client
          .query(BacktestTradesDocument, { id: id.value, first: PAGE, after }, { requestPolicy: 'network-only' })
          .toPromise()
        if (mine !== run) return
        if (r.error || !r.data) throw new Error(r.error?.message ?? 'no data')
        const conn: BacktestTradesQuery['backtest']['trades'] = r.data.backtest.trades
        for (const e of conn.edges) all.push(e.node)
        if (!conn.pageInfo.hasNextPage || !conn.pageInfo.endCursor) break
        after = conn.pageInfo.endCursor
      }
      trades.value = markRaw(all)
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
  return { trades, loading, error, reload: load }
}
