/**
 * Plain-HTTP access to the server under test (no browser), for e2e tests that set up data or
 * check what the page shows against the API.
 *
 *   gqlRaw(token, query, variables?) -> { status, body }   one POST /graphql, the answer as is
 *   gql<T>(token, query, variables?) -> data                the same; throws on any GraphQL error
 *   login(email, password) -> accessToken
 *   createSmaStrategy(token, name?) -> id                   the SMA crossover with $fast/$slow
 *   runBacktest(token, strategyId, params?) -> id           on the demo market (DEMO/USDT 1h)
 *   runBigSweep(token, strategyId) -> id                    40,000 sets: holds the one job slot
 *                                                           (MAX_CONCURRENT_JOBS=1) for seconds
 *   waitForStatus(token, id, statuses, timeoutMs?) -> status   polls node(id) until it has one
 */
import { BASE_URL } from './browser'

export interface GqlAnswer {
  status: number
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] }
}

export async function gqlRaw(token: string | null, query: string, variables: Record<string, unknown> = {}): Promise<GqlAnswer> {
  const r = await fetch(`${BASE_URL}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  })
  const text = await r.text()
  let body: GqlAnswer['body']
  try {
    body = JSON.parse(text) as GqlAnswer['body']
  } catch {
    body = { errors: [{ message: text }] }
  }
  return { status: r.status, body }
}

export async function gql<T>(token: string | null, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const { status, body } = await gqlRaw(token, query, variables)
  if (body.errors?.length || !body.data) throw new Error(`HTTP ${status}: ${JSON.stringify(body.errors ?? body)}`)
  return body.data as T
}

export async function login(email: string, password: string): Promise<string> {
  const d = await gql<{ login: { __typename: string; accessToken?: string } }>(
    null,
    'mutation($e:String!,$p:String!){login(input:{email:$e,password:$p}){__typename ... on AuthPayload{accessToken}}}',
    { e: email, p: password },
  )
  if (!d.login.accessToken) throw new Error(`login refused: ${d.login.__typename}`)
  return d.login.accessToken
}

export const DEMO = { exchange: 'demo', symbol: 'DEMO/USDT', timeframe: '1h', from: '2023-01-01T00:00:00Z', to: '2025-04-14T00:00:00Z' }

export async function createSmaStrategy(token: string, name = 'SMA crossover'): Promise<string> {
  const doc = {
    name,
    side: 'long',
    parameters: { fast: { value: 10 }, slow: { value: 50 } },
    entry: { left: { indicator: 'sma', period: '$fast' }, op: 'crosses_above', right: { indicator: 'sma', period: '$slow' } },
    exit: { left: { indicator: 'sma', period: '$fast' }, op: 'crosses_below', right: { indicator: 'sma', period: '$slow' } },
    risk: { sizing: { mode: 'fraction_of_equity', value: 1 } },
    costs: { fee_bps: 10, slippage_bps: 0 },
    initial_capital: 10000,
  }
  const d = await gql<{ createStrategy: { __typename: string; id?: string } }>(
    token,
    'mutation($d:JSON!,$n:String){createStrategy(input:{document:$d,name:$n}){__typename ... on Strategy{id} ... on StrategyValidationError{problems{path message}}}}',
    { d: doc, n: name },
  )
  if (!d.createStrategy.id) throw new Error(`createStrategy: ${JSON.stringify(d.createStrategy)}`)
  return d.createStrategy.id
}

export async function runBacktest(token: string, strategyId: string, params: Record<string, number> | null = null): Promise<string> {
  const d = await gql<{ runBacktest: { __typename: string; id?: string } }>(
    token,
    'mutation($input: RunBacktestInput!){runBacktest(input:$input){__typename ... on Backtest{id} ... on ValidationError{problems{path message}} ... on NotFoundError{message}}}',
    { input: { strategyId, symbol: DEMO.symbol, timeframe: DEMO.timeframe, from: DEMO.from, to: DEMO.to, exchange: DEMO.exchange, params } },
  )
  if (!d.runBacktest.id) throw new Error(`runBacktest: ${JSON.stringify(d.runBacktest)}`)
  return d.runBacktest.id
}

export async function runBigSweep(token: string, strategyId: string): Promise<string> {
  const d = await gql<{ runSweep: { __typename: string; id?: string } }>(
    token,
    'mutation($input: RunSweepInput!){runSweep(input:$input){__typename ... on Sweep{id} ... on ValidationError{problems{path message}}}}',
    {
      input: {
        strategyId,
        grid: { fast: { start: 2, stop: 101, step: 1 }, slow: { start: 102, stop: 501, step: 1 } },
        symbol: DEMO.symbol,
        timeframe: DEMO.timeframe,
        from: DEMO.from,
        to: DEMO.to,
      },
    },
  )
  if (!d.runSweep.id) throw new Error(`runSweep: ${JSON.stringify(d.runSweep)}`)
  return d.runSweep.id
}

export async function waitForStatus(token: string, id: string, statuses: string[], timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const d = await gql<{ node: { status?: string } | null }>(token, 'query($id:ID!){node(id:$id){... on Job{status}}}', { id })
    const status = d.node?.status ?? 'MISSING'
    if (statuses.includes(status)) return status
    if (Date.now() > deadline) throw new Error(`job ${id} is ${status}, not ${statuses.join('/')}, after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 250))
  }
}
