import { computed, type ComputedRef } from 'vue'
import type { Role } from '@/graphql/generated/graphql'
import { useSession } from '@/stores/session'

/** The roles, weakest first (the server checks every call; these only shape the pages). */
export const ROLES: readonly Role[] = ['VIEWER', 'TRADER', 'ADMIN']

export const ROLE_LABELS: Record<Role, string> = { VIEWER: 'Viewer', TRADER: 'Trader', ADMIN: 'Admin' }

export const ROLE_HINTS: Record<Role, string> = {
  VIEWER: 'reads their own objects',
  TRADER: 'also runs jobs and changes objects',
  ADMIN: 'also manages users, roles and the audit log',
}

/** Shown instead of an action a viewer may not take. */
export const VIEWER_HINT = 'Your role (viewer) can read but not run or change anything: ask an admin for the trader role.'

export function roleLabel(role: string | null | undefined): string {
  return role && role in ROLE_LABELS ? ROLE_LABELS[role as Role] : 'Unknown'
}

export function canTradeAs(role: string | null | undefined): boolean {
  return role === 'TRADER' || role === 'ADMIN'
}

/** The signed-in user's role, and what it allows. */
export function useRole(): { role: ComputedRef<Role | null>; canTrade: ComputedRef<boolean>; isAdmin: ComputedRef<boolean> } {
  const session = useSession()
  const role = computed<Role | null>(() => session.user?.role ?? null)
  return {
    role,
    canTrade: computed(() => canTradeAs(role.value)),
    isAdmin: computed(() => role.value === 'ADMIN'),
  }
}
