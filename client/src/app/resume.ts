import type { Client } from '@urql/vue'
import { RefreshSessionDocument } from '@/graphql/generated/graphql'
import { useSession } from '@/stores/session'
import { SESSION_EXPIRED } from './urql'

let pending: Promise<boolean> | null = null

/**
 * Signs back in with the stored refresh token (after a reload). false when there is none or
 * the server refuses it (then sign-in says the session expired).
 */
export function resumeSession(client: Client): Promise<boolean> {
  pending ??= (async () => {
    const session = useSession()
    const token = session.refreshToken
    if (!token) return false
    const result = await client.mutation(RefreshSessionDocument, { refreshToken: token }).toPromise()
    if (session.refreshToken !== token) return session.signedIn // signed out or in meanwhile
    if (result.data?.refreshToken) {
      session.start(result.data.refreshToken)
      return true
    }
    session.end(result.error?.networkError ? 'The server cannot be reached. Sign in again when it is back.' : SESSION_EXPIRED)
    return false
  })().finally(() => {
    pending = null
  })
  return pending
}
