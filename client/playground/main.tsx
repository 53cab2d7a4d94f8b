// The GraphQL playground: GraphiQL bundled by our build and served from our origin (no CDN).
// Queries and mutations go over HTTP, subscriptions over graphql-ws, both to /graphql here.
import 'graphiql/setup-workers/vite'
import 'graphiql/style.css'
import { createRoot } from 'react-dom/client'
import { GraphiQL } from 'graphiql'
import { createGraphiQLFetcher } from '@graphiql/toolkit'

const origin = window.location.origin
const fetcher = createGraphiQLFetcher({
  url: `${origin}/graphql`,
  subscriptionUrl: `${origin.replace(/^http/, 'ws')}/graphql`,
})

const DEFAULT_QUERY = `# Welcome to Backtest's GraphQL playground.
#
# Sign in first (the demo account is printed by \`make run\`), then put the access token in
# the Headers tab below as {"Authorization": "Bearer <accessToken>"}.
#
# mutation { login(input: {email: "demo@example.com", password: "..."}) {
#   __typename ... on AuthPayload { accessToken } } }

query Strategies {
  strategies(first: 10) {
    totalCount
    edges { node { id name version } }
  }
}
`

const root = document.getElementById('playground')
if (root) {
  createRoot(root).render(<GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY} />)
}
