import { computed, shallowRef, watch, type Ref } from 'vue'
import { useSubscription } from '@urql/vue'
import { BacktestProgressDocument } from '@/graphql/generated/graphql'
import { useUi } from '@/stores/ui'
import { reduceProgress, type ProgressState } from '../progress'
import { STAGE } from '../format'

/**
 * Follows a backtest's progress subscription while `active`: the reducer's state, and `onEnd`
 * called once on the terminal event (to refetch the backtest: subscriptions do not invalidate
 * the cache).
 */
export function useBacktestProgress(id: Ref<string>, active: Ref<boolean>, onEnd: () => void) {
  const ui = useUi()
  const sub = useSubscription(
    { query: BacktestProgressDocument, variables: computed(() => ({ id: id.value })), pause: computed(() => !active.value) },
    (prev: ProgressState | undefined, data) => reduceProgress(prev, data.backtestProgress),
  )
  const state = shallowRef<ProgressState | undefined>(undefined)
  let ended = false
  watch(id, () => {
    ended = false
  })
  watch(
    () => sub.data.value as ProgressState | undefined,
    (s, prev) => {
      state.value = s
      if (!s) return
      if (s.stage && s.stage !== prev?.stage) ui.announce(`Backtest: ${STAGE[s.stage] ?? s.stage}`)
      if (s.ended && !ended) {
        ended = true
        ui.announce(`Backtest ${s.status?.toLowerCase() ?? 'ended'}`)
        onEnd()
      }
    },
  )
  return { state, error: sub.error }
}
