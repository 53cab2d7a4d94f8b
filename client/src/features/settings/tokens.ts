// Personal access tokens on the Settings page: each token's state, the expiry choices of the
// form, and the examples of using a token from curl and from a GraphQL client.
import type { SettingsAccessTokenFragment, TokenScope } from '@/graphql/generated/graphql'

export type TokenTone = 'success' | 'warning' | 'neutral'

/** Whether a token still works: revoked, expired or active (with its tone). */
export function tokenState(
  t: Pick<SettingsAccessTokenFragment, 'revokedAt' | 'expiresAt'>,
  now: number = Date.now(),
): { label: 'Active' | 'Expired' | 'Revoked'; tone: TokenTone; usable: boolean } {
  if (t.revokedAt) return { label: 'Revoked', tone: 'neutral', usable: false }
  if (t.expiresAt && new Date(t.expiresAt).getTime() <= now) return { label: 'Expired', tone: 'warning', usable: false }
  return { label: 'Active', tone: 'success', usable: true }
}

export const SCOPES: ReadonlyArray<{ value: TokenScope; label: string; hint: string }> = [
  { value: 'READ', label: 'Read only', hint: 'Queries and subscriptions: read results, follow jobs.' },
  { value: 'READ_WRITE', label: 'Read and write', hint: 'Also mutations: run backtests and sweeps, sync data, delete.' },
]

export function scopeLabel(scope: TokenScope): string {
  return SCOPES.find((s) => s.value === scope)?.label ?? scope
}

/** The form's expiry choices: '' is "never"; the others are days (the API allows 1 to 3650). */
export const EXPIRIES: ReadonlyArray<{ value: string; label: string }> = [
  { value: '30', label: '30 days' },
  { value: '90', label: '90 days' },
  { value: '365', label: '1 year' },
  { value: '', label: 'Never' },
]

/** The form's expiry choice as the API's `expiresInDays` (null: never). */
export function expiresInDays(choice: string): number | null {
  if (!choice.trim()) return null
  const n = Number(choice)
  return Number.isInteger(n) ? n : null
}

const PLACEHOLDER = 'bt_pat_…'

/**
 * The two examples of a token's use: `curl` with the Authorization header, and a GraphQL client
 * (@urql/core) sending the same header. `token` is the new secret when it has just been created
 * (the only time it is known), else a placeholder.
 */
export function tokenExamples(origin: string, token: string | null = null): { url: string; curl: string; client: string } {
  const url = `${origin.replace(/\/+$/, '')}/graphql`
  const secret = token ?? PLACEHOLDER
  const curl = [
    `export BACKTEST_TOKEN='${secret}'`,
    `curl -s ${url} \\`,
    `  -H "Authorization: Bearer $BACKTEST_TOKEN" \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d '{"query": "{ me { email } backtests(first: 5) { totalCount } }"}'`,
  ].join('\n')
  const client = [
    `// npm install @urql/core graphql`,
    `import { Client, fetchExchange, gql } from '@urql/core'`,
    ``,
    `const client = new Client({`,
    `  url: '${url}',`,
    `  exchanges: [fetchExchange],`,
    `  fetchOptions: () => ({`,
    `    headers: { Authorization: \`Bearer \${process.env.BACKTEST_TOKEN}\` },`,
    `  }),`,
    `})`,
    ``,
    `const { data, error } = await client`,
    `  .query(gql\`{ me { email } backtests(first: 5) { totalCount } }\`, {})`,
    `  .toPromise()`,
  ].join('\n')
  return { url, curl, client }
}
