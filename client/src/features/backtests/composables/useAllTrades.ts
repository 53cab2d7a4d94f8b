import { markRaw, shallowRef, watch, type Ref } from 'vue'
import { useClientHandle } from '@urql/vue'
import { BacktestTradeColumnsDocument, type BacktestTradeFieldsFragment } from '@/graphql/generated/graphql'
import { rowsFromColumns } from '../tradeColumns'

/**
 * Every trade of a finished backtest in trade order, for the chart's markers and the exports:
 * one request (Backtest.tradeColumns), kept out of Vue's reactivity.
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
    try {
      const r = await handle.client.query(BacktestTradeColumnsDocument, { id: id.value }, { requestPolicy: 'network-only' }).toPromise()
      if (mine !== run) return
      if (r.error || !r.data) throw new Error(r.error?.message ?? 'no data')
      const columns = r.data.backtest.tradeColumns
      trades.value = markRaw(columns ? rowsFromColumns(columns) : [])
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
