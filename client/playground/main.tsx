// The GraphQL playground: GraphiQL bundled by our build and served from our origin (no CDN).
// Queries and mutations go over HTTP, subscriptions over graphql-ws, both to /graphql here.
// The Headers tab applies to both: the websocket sends them as its connection parameters
// (the server reads Authorization there), reconnecting when they change.
import 'graphiql/setup-workers/vite'
import 'graphiql/style.css'
import { createRoot } from 'react-dom/client'
import { GraphiQL } from 'graphiql'
import { createGraphiQLFetcher, type Fetcher, type FetcherOpts, type FetcherParams } from '@graphiql/toolkit'
import { parse, type OperationDefinitionNode } from 'graphql'
import { createClient, type Client } from 'graphql-ws'

const origin = window.location.origin
const wsUrl = `${origin.replace(/^http/, 'ws')}/graphql`
const http = createGraphiQLFetcher({ url: `${origin}/graphql` })

function isSubscription(params: FetcherParams): boolean {
  try {
    const ops = parse(params.query).definitions.filter((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition')
    const op = params.operationName ? ops.find((d) => d.name?.value === params.operationName) : ops[0]
    return op?.operation === 'subscription'
  } catch {
    return false // the server says what is wrong with it
  }
}

let socket: { key: string; client: Client } | null = null

function socketFor(headers: Record<string, unknown>): Client {
  const key = JSON.stringify(headers)
  if (socket?.key !== key) {
    void socket?.client.dispose()
    socket = { key, client: createClient({ url: wsUrl, lazy: true, connectionParams: headers }) }
  }
  return socket.client
}

const fetcher: Fetcher = (params: FetcherParams, opts?: FetcherOpts) => {
  if (!isSubscription(params)) return http(params, opts)
  const headers = (opts?.headers ?? {}) as Record<string, unknown>
  const results = socketFor(headers).iterate({ query: params.query, operationName: params.operationName, variables: params.variables })
  // graphql-ws yields the wire format (errors as plain objects), which GraphiQL only prints
  return results as unknown as ReturnType<Fetcher>
}

const DEFAULT_QUERY = `# Backtest's GraphQL playground. Everything the web client does goes through this API.
#
# 1. Sign in: run the Login operation below (the ▶ button asks which operation to run) with
#    your email and password (the demo account's password is printed once by \`make run\`).
# 2. Open the Headers tab (bottom) and paste the accessToken of the answer:
#      {"Authorization": "Bearer <accessToken>"}
#    It lives 15 minutes; refreshToken(refreshToken: "...") trades the refresh token for a new pair.
# 3. Run Strategies, or anything else: Ctrl-Space completes, the Docs panel (left) has the schema.
#    Subscriptions (JobEvents) run over the websocket with the same header.

mutation Login {
  login(input: {email: "demo@example.com", password: "paste the password here"}) {
    __typename
    ... on AuthPayload { accessToken refreshToken expiresIn }
    ... on InvalidCredentials { message }
  }
}

query Strategies {
  strategies(first: 10) {
    totalCount
    edges { node { id name version } }
  }
}

subscription JobEvents {
  jobEvents { jobKind jobId kind status progress }
}
`

const root = document.getElementById('playground')
if (root) {
  createRoot(root).render(<GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY} />)
}
