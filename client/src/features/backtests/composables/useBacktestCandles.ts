import { computed, markRaw, shallowRef, watch, type Ref } from 'vue'
import { useClientHandle } from '@urql/vue'
import { MarketCandlesDocument } from '@/graphql/generated/graphql'
import { strategyIndicators } from '@/components/charts/transforms'
import type { CandleChartData } from '@/components/charts/CandleChart.vue'

export interface CandleSource {
  exchange: string
  symbol: string
  timeframe: string
  from: string
  to: string
  strategySnapshot: unknown
  params: unknown
}

/** The API's most candles per request. */
export const MAX_CANDLES = 200_000

/**
 * The run's candles with its strategy's indicators (from its snapshot, $params resolved),
 * fetched once per backtest, outside the document cache's reactivity (markRaw: 100k bars).
 */
export function useBacktestCandles(source: Ref<CandleSource | null>) {
  const handle = useClientHandle()
  const data = shallowRef<CandleChartData | null>(null)
  const loading = shallowRef(false)
  const error = shallowRef<string | null>(null)
  const key = computed(() => {
    const s = source.value
    return s ? `${s.exchange}|${s.symbol}|${s.timeframe}|${s.from}|${s.to}` : ''
  })
  let run = 0

  watch(
    key,
    async (k) => {
      const s = source.value
      if (!k || !s) return
      const mine = ++run
      loading.value = true
      error.value = null
      const params = (s.params && typeof s.params === 'object' ? s.params : {}) as Record<string, unknown>
      const indicators = strategyIndicators(s.strategySnapshot, params).map((i) => ({ name: i.name, params: i.params, as: i.as }))
      const r = await handle.client
        .query(
          MarketCandlesDocument,
          { symbol: s.symbol, timeframe: s.timeframe, exchange: s.exchange, from: s.from, to: s.to, limit: MAX_CANDLES, indicators },
          { requestPolicy: 'network-only' },
        )
        .toPromise()
      if (mine !== run) return
      loading.value = false
      if (r.error || !r.data) {
        error.value = r.error?.message ?? 'The candles could not be loaded.'
        return
      }
      performance.mark('backtest:candles-arrived')
      const c = r.data.candles
      data.value = markRaw({
        times: c.times,
        open: c.open,
        high: c.high,
        low: c.low,
        close: c.close,
        volume: c.volume,
        indicators: c.indicators,
      })
    },
    { immediate: true },
  )
  return { data, loading, error }
}
