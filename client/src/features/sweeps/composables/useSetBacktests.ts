import { computed, ref, type Ref } from 'vue'
import { useMutation, useQuery } from '@urql/vue'
import { useRouter } from 'vue-router'
import { toast } from 'vue-sonner'
import { RunBacktestDocument, SweepBacktestsDocument, type SweepHeaderFragment } from '@/graphql/generated/graphql'
import { errorMessage } from '@/lib/errors'
import { useUi } from '@/stores/ui'
import { numericParams, paramsKey, paramsText, sameParams } from '../heatmap'

/** How many of the newest backtests of the sweep's strategy and market are searched. */
export const SEARCHED = 100
const MEMORY_KEY = 'backtest.sweepSets'

type Memory = Record<string, Record<string, string>>

function readMemory(): Memory {
  try {
    const v = JSON.parse(localStorage.getItem(MEMORY_KEY) ?? '{}') as unknown
    return v && typeof v === 'object' ? (v as Memory) : {}
  } catch {
    return {}
  }
}

function writeMemory(m: Memory): void {
  try {
    localStorage.setItem(MEMORY_KEY, JSON.stringify(m))
  } catch {
    /* not remembered: the search below still finds it among the newest backtests */
  }
}

/** The sweep's initial capital (its strategy snapshot's: runSweep writes it there). */
export function sweepCapital(s: Pick<SweepHeaderFragment, 'strategySnapshot'>): number | null {
  const c = (s.strategySnapshot as { initial_capital?: unknown } | null)?.initial_capital
  return typeof c === 'number' ? c : null
}

/**
 * The backtest of one parameter set of a sweep: opened when it exists, else run.
 *
 * The API does not link a sweep's rows to backtests, so a set's backtest is found by what it ran:
 * among the newest SEARCHED backtests of the sweep's strategy version, exchange and symbol (the
 * `backtests` filter), one with the same timeframe, dates, initial capital and every parameter's
 * value (a failed or cancelled one does not count). A backtest run from here is also remembered
 * in this browser (localStorage) under the sweep and the set, so it is still found once more
 * than SEARCHED newer backtests hide it from the search.
 */
export function useSetBacktests(sweep: Ref<SweepHeaderFragment>) {
  const router = useRouter()
  const ui = useUi()
  const filter = computed(() => ({ strategyId: sweep.value.strategyId, exchange: sweep.value.exchange, symbol: sweep.value.symbol }))
  const list = useQuery({
    query: SweepBacktestsDocument,
    variables: computed(() => ({ filter: filter.value, first: SEARCHED })),
    pause: computed(() => !sweep.value.strategyId),
    context: { additionalTypenames: ['Backtest'] },
  })
  const memory = ref<Memory>(readMemory())
  const running = ref<string | null>(null)
  const run = useMutation(RunBacktestDocument)
  const capital = computed(() => sweepCapital(sweep.value))

  const matches = computed(() => {
    const s = sweep.value
    return (list.data.value?.backtests.edges ?? [])
      .map((e) => e.node)
      .filter(
        (b) =>
          b.status !== 'FAILED' &&
          b.status !== 'CANCELLED' &&
          b.strategyId === s.strategyId &&
          b.timeframe === s.timeframe &&
          Date.parse(b.from) === Date.parse(s.from) &&
          Date.parse(b.to) === Date.parse(s.to) &&
          (capital.value === null || Math.abs(b.initialCapital - capital.value) < 1e-9),
      )
      .map((b) => ({ id: b.id, params: numericParams(b.params) }))
  })

  /** The id of the set's backtest, when one is known. */
  function existing(params: Readonly<Record<string, number>>): string | null {
    const found = matches.value.find((b) => sameParams(b.params, params))
    if (found) return found.id
    return memory.value[sweep.value.id]?.[paramsKey(params)] ?? null
  }

  const canRun = computed(() => sweep.value.strategyId !== null)

  /** Opens the set's backtest, or runs it (then opens it). */
  async function open(params: Readonly<Record<string, number>>): Promise<void> {
    const id = existing(params)
    if (id) {
      await router.push(`/backtests/${encodeURIComponent(id)}`)
      return
    }
    const s = sweep.value
    if (!s.strategyId) {
      toast.error('The strategy of this sweep was deleted: its sets cannot be run again.')
      return
    }
    const key = paramsKey(params)
    running.value = key
    const r = await run.executeMutation(
      {
        input: {
          strategyId: s.strategyId,
          exchange: s.exchange,
          symbol: s.symbol,
          timeframe: s.timeframe,
          from: s.from,
          to: s.to,
          initialCapital: capital.value,
          params: { ...params },
        },
      },
      { additionalTypenames: ['Backtest'] },
    )
    running.value = null
    if (r.error) {
      toast.error(`The backtest was not started: ${errorMessage(r.error)}`)
      return
    }
    const res = r.data?.runBacktest
    if (!res) return
    switch (res.__typename) {
      case 'Backtest': {
        const m = readMemory()
        m[s.id] = { ...(m[s.id] ?? {}), [key]: res.id }
        writeMemory(m)
        memory.value = m
        ui.announce(`Backtest of ${paramsText(params)} queued`)
        await router.push(`/backtests/${encodeURIComponent(res.id)}`)
        return
      }
      case 'ValidationError':
        toast.error(`The backtest was not started: ${res.problems.map((p) => p.message).join(' ')}`)
        return
      case 'NotFoundError':
        toast.error(`The backtest was not started: ${res.message}`)
        return
      default: {
        const never: never = res
        return never
      }
    }
  }

  return { existing, open, canRun, running, searching: list.fetching }
}
