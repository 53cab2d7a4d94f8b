// The result page's charts with 100,000 candles (synthetic, generated here) and their trades:
// marks 'bench:data' when the data "arrives" and 'bench:interactive' once the charts have
// painted and the main thread is free again. bench/run.mjs reads window.__bench. The chart
// loads a long series newest first (src/components/charts/window.ts); `loadAllMs` is then how
// long loading the whole history takes (what scrolling back to the first bar costs, in steps).
// `?baseline=1`: the baseline of the same run, lightweight-charts alone (one chart, candles and
// plain volume, no indicators, markers or equity chart), measured the same way.
import { createApp, defineComponent, h, markRaw, nextTick, shallowRef } from 'vue'
import { createPinia } from 'pinia'
import '@/styles.css'
import CandleChart, { type CandleChartData } from '@/components/charts/CandleChart.vue'
import EquityChart from '@/components/charts/EquityChart.vue'
import { toBars, toTime, type MarkerTrade } from '@/components/charts/transforms'
import { CandlestickSeries, HistogramSeries, createChart } from 'lightweight-charts'

const N = Number(new URLSearchParams(location.search).get('bars') ?? 100_000)
const H = 3_600_000

function synth(n: number) {
  const times: number[] = new Array(n)
  const open: number[] = new Array(n)
  const high: number[] = new Array(n)
  const low: number[] = new Array(n)
  const close: number[] = new Array(n)
  const volume: number[] = new Array(n)
  const sma: (number | null)[] = new Array(n)
  let p = 100
  let seed = 42
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647)
  let sum = 0
  const t0 = Date.UTC(2014, 0, 1)
  for (let i = 0; i < n; i++) {
    const o = p
    p = Math.max(1, p * (1 + (rnd() - 0.5) * 0.02))
    times[i] = t0 + i * H
    open[i] = o
    close[i] = p
    high[i] = Math.max(o, p) * (1 + rnd() * 0.005)
    low[i] = Math.min(o, p) * (1 - rnd() * 0.005)
    volume[i] = 1000 + rnd() * 1000
    sum += p
    if (i >= 50) sum -= close[i - 50]!
    sma[i] = i >= 49 ? sum / 50 : null
  }
  const trades: MarkerTrade[] = []
  for (let i = 0, seq = 0; i + 40 < n; i += 100, seq++) {
    trades.push({ seq, entryTime: new Date(times[i]!).toISOString(), exitTime: new Date(times[i + 40]!).toISOString(), side: seq % 3 ? 'LONG' : 'SHORT', pnl: close[i + 40]! - close[i]! })
  }
  const step = Math.ceil(n / 2000)
  const eqT: number[] = []
  const eqV: number[] = []
  const dd: number[] = []
  let peak = 0
  for (let i = 0; i < n; i += step) {
    const v = 10000 * (close[i]! / 100)
    peak = Math.max(peak, v)
    eqT.push(times[i]!)
    eqV.push(v)
    dd.push(1 - v / peak)
  }
  return {
    candles: { times, open, high, low, close, volume, indicators: [{ name: 'sma(50)', indicator: 'sma', output: 'value', values: sma }] } as CandleChartData,
    trades,
    equity: { times: eqT, values: eqV },
    drawdown: { times: eqT, values: dd },
  }
}

const generated = synth(N)

/** Two frames and a task after now (the charts have painted, the main thread is free). */
function settled(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(resolve))))
}

/** Marks 'bench:interactive' once settled, then (with `loadAll`) times loading the whole
 * history, and publishes the figures. */
async function finish(counts: () => unknown, loadAll?: () => void): Promise<void> {
  await settled()
  performance.mark('bench:interactive')
  const m = performance.measure('bench:data-to-interactive', 'bench:data', 'bench:interactive')
  const first = counts()
  let loadAllMs: number | null = null
  if (loadAll) {
    const t0 = performance.now()
    loadAll()
    await settled()
    loadAllMs = Math.round(performance.now() - t0)
  }
  ;(window as unknown as { __bench: unknown }).__bench = {
    bars: N,
    trades: generated.trades.length,
    ms: Math.round(m.duration),
    counts: first,
    loadAllMs,
    countsAfter: counts(),
  }
}

function baseline(): void {
  const el = document.getElementById('app')!
  el.style.cssText = 'width:1248px;height:520px'
  const chart = createChart(el, { autoSize: true, timeScale: { enableConflation: true } })
  const candles = chart.addSeries(CandlestickSeries)
  const volume = chart.addSeries(HistogramSeries, { priceFormat: { type: 'volume' } }, 1)
  setTimeout(() => {
    performance.mark('bench:data')
    const c = generated.candles
    candles.setData(toBars(c))
    volume.setData(c.times.map((t, i) => ({ time: toTime(t), value: c.volume![i]! })))
    void finish(() => ({ candles: c.times.length }))
  }, 50)
}

const Bench = defineComponent({
  setup() {
    const data = shallowRef<CandleChartData | null>(null)
    const trades = shallowRef<readonly MarkerTrade[]>([])
    const equity = shallowRef<{ times: number[]; values: number[] } | null>(null)
    const drawdown = shallowRef<{ times: number[]; values: number[] } | null>(null)
    const chart = shallowRef<{ loadAll: () => void } | null>(null)
    setTimeout(async () => {
      performance.mark('bench:data')
      data.value = markRaw(generated.candles)
      trades.value = markRaw(generated.trades)
      equity.value = markRaw(generated.equity)
      drawdown.value = markRaw(generated.drawdown)
      await nextTick()
      void finish(() => window.__charts?.['candle-chart']?.(), () => chart.value?.loadAll())
    }, 50)
    return () =>
      h('main', { style: 'padding:16px;max-width:1280px' }, [
        h('h1', `Result page benchmark: ${N.toLocaleString('en-US')} candles`),
        h(CandleChart, { ref: chart, data: data.value, trades: trades.value, timeframe: '1h', label: 'Benchmark candles', testId: 'candle-chart' }),
        h(EquityChart, { equity: equity.value, drawdown: drawdown.value, label: 'Benchmark equity' }),
      ])
  },
})

if (new URLSearchParams(location.search).get('baseline')) baseline()
else createApp(Bench).use(createPinia()).mount('#app')
