import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { SessionFragment, SessionUserFragment } from '@/graphql/generated/graphql'

/**
 * The signed-in session. The access token lives in memory only. The refresh token is kept in
 * localStorage so that a reload stays signed in (an httpOnly cookie would be safer: the security
 * work replaces this with server-side sessions).
 */
const REFRESH_KEY = 'backtest.refresh'

function readRefresh(): string | null {
  try {
    return localStorage.getItem(REFRESH_KEY)
  } catch {
    return null
  }
}

export const useSession = defineStore('session', () => {
  const accessToken = ref<string | null>(null)
  const refreshToken = ref<string | null>(readRefresh())
  const expiresAt = ref(0)
  const user = ref<SessionUserFragment | null>(null)
  /** Why the user was sent back to sign-in (shown there once). */
  const notice = ref<string | null>(null)

  const signedIn = computed(() => accessToken.value !== null && user.value !== null)
  const canRefresh = computed(() => refreshToken.value !== null)

  function start(session: SessionFragment): void {
    accessToken.value = session.accessToken
    refreshToken.value = session.refreshToken
    user.value = session.user
    // refresh a little before the server's expiry
    expiresAt.value = Date.now() + Math.max(0, session.expiresIn - 30) * 1000
    try {
      localStorage.setItem(REFRESH_KEY, session.refreshToken)
    } catch {
      /* private mode: the session ends with the tab */
    }
  }

  function end(why: string | null = null): void {
    accessToken.value = null
    refreshToken.value = null
    user.value = null
    expiresAt.value = 0
    notice.value = why
    try {
      localStorage.removeItem(REFRESH_KEY)
    } catch {
      /* nothing stored */
    }
  }

  /**
   * The refresh token to use now. A refresh token works once (the server rotates it and treats
   * a reused one as stolen), and every tab of this browser shares one session: another tab may
   * have traded it for the next one, which it stored. Adopt that one.
   */
  function currentRefresh(): string | null {
    const stored = readRefresh()
    if (stored !== null && refreshToken.value !== null && stored !== refreshToken.value) {
      refreshToken.value = stored
    }
    return refreshToken.value
  }

  function expired(): boolean {
    return accessToken.value === null || Date.now() >= expiresAt.value
  }

  return { accessToken, refreshToken, user, notice, signedIn, canRefresh, start, end, expired, currentRefresh }
})
