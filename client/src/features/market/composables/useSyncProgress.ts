import { computed, shallowRef, watch, type Ref } from 'vue'
import { useSubscription } from '@urql/vue'
import { MarketDataSyncProgressDocument } from '@/graphql/generated/graphql'
import { reduceSync, type SyncState } from '../syncProgress'

/**
 * Follows a sync job's progress subscription while `active`: the reducer's state, and `onEnd`
 * called once on the terminal event (to refetch: subscriptions do not invalidate the cache).
 */
export function useSyncProgress(id: Ref<string>, active: Ref<boolean>, onEnd: (s: SyncState) => void) {
  const sub = useSubscription(
    { query: MarketDataSyncProgressDocument, variables: computed(() => ({ id: id.value })), pause: computed(() => !active.value) },
    (prev: SyncState | undefined, data) => reduceSync(prev, data.marketDataSyncProgress),
  )
  const state = shallowRef<SyncState | undefined>(undefined)
  let ended = false
  watch(
    () => sub.data.value as SyncState | undefined,
    (s) => {
      state.value = s
      if (s?.ended && !ended) {
        ended = true
        onEnd(s)
      }
    },
  )
  return { state, error: sub.error }
}
