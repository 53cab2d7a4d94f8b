import { computed, onBeforeUnmount, ref, shallowRef } from 'vue'
import { useMutation, useQuery, useSubscription } from '@urql/vue'
import { toast } from 'vue-sonner'
import {
  DashboardActiveJobsDocument,
  DashboardCancelJobDocument,
  DashboardJobEventsDocument,
  type DashboardJobEventsSubscription,
} from '@/graphql/generated/graphql'
import { errorMessage } from '@/lib/errors'
import { useSession } from '@/stores/session'
import { useUi } from '@/stores/ui'
import { applyJobEvent, isTerminalEvent, jobView, KIND_LABEL, orderJobs, type JobEvent, type JobView, type LiveJob } from '../jobs'

const PAGE = 10
const JOB_TYPES = ['Backtest', 'Sweep', 'SyncJob', 'Replay', 'ExchangeImport']

/**
 * Your queued and running jobs of every kind (the server's first page of them), with their live
 * progress from the jobEvents feed, and cancel. A job the list does not hold yet (just started)
 * refetches it; a job's end refetches it too (subscriptions do not invalidate the cache) and
 * calls `onEnded` (to refresh what the end changes, e.g. the latest results).
 */
export function useDashboardJobs(onEnded: (e: JobEvent) => void) {
  const session = useSession()
  const ui = useUi()
  const q = useQuery({ query: DashboardActiveJobsDocument, variables: { first: PAGE }, context: { additionalTypenames: JOB_TYPES } })
  const live = shallowRef<ReadonlyMap<string, LiveJob>>(new Map())
  const listed = computed(() => new Set(q.data.value?.jobs.edges.map((e) => e.node.id) ?? []))

  let timer: ReturnType<typeof setTimeout> | undefined
  function refetch(): void {
    q.executeQuery({ requestPolicy: 'network-only' })
  }
  function refetchSoon(): void {
    clearTimeout(timer)
    timer = setTimeout(refetch, 250)
  }
  // events missed while the tab slept (or the socket reconnected) are caught up on return
  function onVisible(): void {
    if (document.visibilityState === 'visible') refetch()
  }
  document.addEventListener('visibilitychange', onVisible)
  onBeforeUnmount(() => {
    clearTimeout(timer)
    document.removeEventListener('visibilitychange', onVisible)
  })

  function onEvent(e: JobEvent): void {
    live.value = applyJobEvent(live.value, e)
    if (isTerminalEvent(e)) {
      refetchSoon()
      onEnded(e)
    } else if (!listed.value.has(e.jobId)) refetchSoon()
  }

  // the handler runs for every event (a watcher would see only the last of a burst)
  const events = useSubscription<DashboardJobEventsSubscription, null>(
    { query: DashboardJobEventsDocument, pause: computed(() => !session.signedIn) },
    (_prev, data) => {
      onEvent(data.jobEvents)
      return null
    },
  )

  const jobs = computed<JobView[]>(() => orderJobs((q.data.value?.jobs.edges ?? []).map(({ node }) => jobView(node, live.value.get(node.id)))))
  const total = computed(() => q.data.value?.jobs.totalCount ?? 0)

  const cancelMutation = useMutation(DashboardCancelJobDocument)
  const cancelling = ref<ReadonlySet<string>>(new Set())
  async function cancel(job: JobView): Promise<void> {
    cancelling.value = new Set([...cancelling.value, job.id])
    const r = await cancelMutation.executeMutation({ id: job.id, kind: job.kind }, { additionalTypenames: JOB_TYPES })
    const answer = r.data?.cancelJob
    const failed = (why: string): void => {
      const rest = new Set(cancelling.value)
      rest.delete(job.id)
      cancelling.value = rest
      toast.error(`${KIND_LABEL[job.kind]} not cancelled: ${why}`)
    }
    if (!answer) return failed(errorMessage(r.error) || 'try again.')
    if (answer.__typename === 'NotFoundError') return failed(answer.message)
    const name = KIND_LABEL[job.kind]
    toast(`Cancelling the ${name.toLowerCase()}…`)
    ui.announce(`Cancelling ${name}`)
  }

  return {
    jobs,
    total,
    fetching: q.fetching,
    loaded: computed(() => q.data.value !== undefined),
    error: q.error,
    streamError: events.error,
    refetch,
    cancel,
    cancelling,
  }
}
