import { computed, shallowRef, watch, type Ref } from 'vue'
import { useSubscription } from '@urql/vue'
import { ReplayProgressDocument } from '@/graphql/generated/graphql'
import { useUi } from '@/stores/ui'
import { reduceProgress, type ProgressState } from '@/features/backtests/progress'
import { STAGE } from '@/features/backtests/format'

/**
 * Follows a replay's progress subscription while `active` (the backtests' reducer: the same
 * events), calling `onEnd` once on the terminal event to refetch the replay.
 */
export function useReplayProgress(id: Ref<string>, active: Ref<boolean>, onEnd: () => void) {
  const ui = useUi()
  const sub = useSubscription(
    { query: ReplayProgressDocument, variables: computed(() => ({ id: id.value })), pause: computed(() => !active.value) },
    (prev: ProgressState | undefined, data) => reduceProgress(prev, data.replayProgress),
  )
  const state = shallowRef<ProgressState | undefined>(undefined)
  let ended = false
  watch(id, () => {
    ended = false
    state.value = undefined
  })
  watch(
    () => sub.data.value as ProgressState | undefined,
    (s, prev) => {
      state.value = s
      if (!s) return
      if (s.stage && s.stage !== prev?.stage) ui.announce(`Replay: ${STAGE[s.stage] ?? s.stage}`)
      if (s.ended && !ended) {
        ended = true
        ui.announce(`Replay ${s.status?.toLowerCase() ?? 'ended'}`)
        onEnd()
      }
    },
  )
  return { state, error: sub.error }
}
