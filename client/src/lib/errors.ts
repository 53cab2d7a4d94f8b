import type { CombinedError } from '@urql/vue'

/** The `extensions.code` of an API error (the first one that has a code). */
export function errorCode(error: CombinedError | undefined | null): string | null {
  if (!error) return null
  for (const e of error.graphQLErrors) {
    const code = e.extensions?.code
    if (typeof code === 'string') return code
  }
  return error.networkError ? 'NETWORK' : null
}

/** A sentence for the user: what happened, without urql's "[GraphQL]" prefix. */
export function errorMessage(error: CombinedError | undefined | null): string {
  if (!error) return ''
  if (error.networkError) return 'The server cannot be reached. Check that it is running, then try again.'
  const first = error.graphQLErrors[0]
  return first ? first.message : error.message.replace(/^\[\w+\]\s*/, '')
}
