import {
  Client,
  cacheExchange,
  fetchExchange,
  subscriptionExchange,
  type CombinedError,
  type Operation,
} from '@urql/vue'
import { authExchange } from '@urql/exchange-auth'
import { createClient as createWSClient, type Client as WSClient } from 'graphql-ws'
import { RefreshSessionDocument } from '@/graphql/generated/graphql'
import { useSession } from '@/stores/session'
import { errorCode } from '@/lib/errors'

/** Operations that run without a session (no Authorization header, no refresh first). */
const PUBLIC_OPERATIONS = new Set(['Login', 'Register', 'RefreshSession', 'Logout', 'StrategySchema'])

function operationName(op: Operation): string | undefined {
  for (const d of op.query.definitions) {
    if (d.kind === 'OperationDefinition') return d.name?.value
  }
  return undefined
}

export const SESSION_EXPIRED = 'Your session has expired. Sign in again to go on.'

let ws: WSClient | null = null

/** Reconnects the subscriptions socket (after a refresh, so that it carries the new token). */
export function restartSubscriptions(): void {
  ws?.terminate()
}

/**
 * The app's urql client: a document cache, silent token refresh (authExchange), queries and
 * mutations over fetch and subscriptions over graphql-ws on the same origin.
 * `onExpired` runs when the session cannot be refreshed.
 */
export function makeClient(onExpired: () => void): Client {
  const session = useSession()
  const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`
  ws = createWSClient({
    url: wsUrl,
    lazy: true,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    connectionParams: () =>
      session.accessToken ? { Authorization: `Bearer ${session.accessToken}` } : {},
  })
  const socket = ws

  return new Client({
    url: '/graphql',
    requestPolicy: 'cache-and-network',
    preferGetMethod: false,
    exchanges: [
      cacheExchange,
      authExchange(async (utils) => ({
        addAuthToOperation(operation) {
          if (!session.accessToken || PUBLIC_OPERATIONS.has(operationName(operation) ?? '')) {
            return operation
          }
          return utils.appendHeaders(operation, { Authorization: `Bearer ${session.accessToken}` })
        },
        willAuthError(operation) {
          return (
            !PUBLIC_OPERATIONS.has(operationName(operation) ?? '') &&
            session.canRefresh &&
            session.expired()
          )
        },
        didAuthError(error: CombinedError) {
          return errorCode(error) === 'UNAUTHENTICATED'
        },
        async refreshAuth() {
          let token = session.currentRefresh()
          if (!token) {
            // signed out already (a query of the page being left): keep the sign-out notice
            if (session.user) session.end(SESSION_EXPIRED)
            onExpired()
            return
          }
          let result = await utils.mutate(RefreshSessionDocument, { refreshToken: token })
          const latest = session.currentRefresh()
          if (!result.data?.refreshToken && latest && latest !== token) {
            // another tab used the same token first and stored the next one: go on with that
            token = latest
            result = await utils.mutate(RefreshSessionDocument, { refreshToken: token })
          }
          // signed out (or in as someone else) meanwhile: that answer is no longer wanted
          if (session.refreshToken !== token) return
          if (result.data?.refreshToken) {
            session.start(result.data.refreshToken)
            restartSubscriptions()
          } else {
            session.end(SESSION_EXPIRED)
            onExpired()
          }
        },
      })),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? '' }
          return {
            subscribe(sink) {
              const unsubscribe = socket.subscribe(input, sink)
              return { unsubscribe }
            },
          }
        },
      }),
    ],
  })
}
