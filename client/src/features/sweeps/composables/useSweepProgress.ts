import { computed, shallowRef, watch, type Ref } from 'vue'
import { useSubscription } from '@urql/vue'
import { SweepProgressDocument } from '@/graphql/generated/graphql'
import { useUi } from '@/stores/ui'
import { STAGE } from '@/features/backtests/format'
import { reduceSweepProgress, type SweepProgressState } from '../progress'

/**
 * Follows a sweep's progress subscription while `active`: the reducer's state, and `onEnd`
 * called once on the terminal event (to refetch the sweep: subscriptions do not invalidate the
 * cache).
 */
export function useSweepProgress(id: Ref<string>, active: Ref<boolean>, onEnd: () => void) {
  const ui = useUi()
  const sub = useSubscription(
    { query: SweepProgressDocument, variables: computed(() => ({ id: id.value })), pause: computed(() => !active.value) },
    (prev: SweepProgressState | undefined, data) => reduceSweepProgress(prev, data.sweepProgress),
  )
  const state = shallowRef<SweepProgressState | undefined>(undefined)
  let ended = false
  watch(id, () => {
    ended = false
  })
  watch(
    () => sub.data.value as SweepProgressState | undefined,
    (s, prev) => {
      state.value = s
      if (!s) return
      if (s.stage && s.stage !== prev?.stage) ui.announce(`Sweep: ${STAGE[s.stage] ?? s.stage}`)
      if (s.ended && !ended) {
        ended = true
        ui.announce(`Sweep ${s.status?.toLowerCase() ?? 'ended'}`)
        onEnd()
      }
    },
  )
  return { state, error: sub.error }
}
