/**
 * Backtests set up and read over plain HTTP (no browser), for the list and Compare e2e tests.
 *
 *   api<T>(token, query, variables?) -> data     one POST /graphql; throws on any GraphQL error
 *   apiLogin(email, password) -> accessToken
 *   apiStrategy(token, name) -> id               the SMA crossover with $fast/$slow parameters
 *   apiRun(token, input) -> id                   queues a backtest on the demo market (DEMO/USDT
 *                                                1h, January 2024 unless `input` says otherwise)
 *   apiSettled(token, ids, timeoutMs?) -> statuses  polls until every run has ended
 *   apiListIds(token, variables) -> { ids, totalCount, endCursor }  a page of backtests(...)
 */
import { BASE_URL } from './browser'

export async function api<T>(token: string | null, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const r = await fetch(`${BASE_URL}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  })
  const body = (await r.json()) as { data?: T; errors?: unknown }
  if (body.errors || !body.data) throw new Error(`HTTP ${r.status}: ${JSON.stringify(body.errors ?? body)}`)
  return body.data
}

export async function apiLogin(email: string, password: string): Promise<string> {
  const d = await api<{ login: { accessToken?: string } }>(
    null,
    'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { ... on AuthPayload { accessToken } } }',
    { e: email, p: password },
  )
  if (!d.login.accessToken) throw new Error('login refused')
  return d.login.accessToken
}

export async function apiStrategy(token: string, name: string): Promise<string> {
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
  const d = await api<{ createStrategy: { __typename: string; id?: string } }>(
    token,
    'mutation($d: JSON!, $n: String) { createStrategy(input: { document: $d, name: $n }) { __typename ... on Strategy { id } } }',
    { d: doc, n: name },
  )
  if (!d.createStrategy.id) throw new Error(`createStrategy: ${JSON.stringify(d.createStrategy)}`)
  return d.createStrategy.id
}

export interface RunInput {
  strategyId: string
  params?: Record<string, number>
  initialCapital?: number
  from?: string
  to?: string
}

export async function apiRun(token: string, input: RunInput): Promise<string> {
  const d = await api<{ runBacktest: { __typename: string; id?: string } }>(
    token,
    'mutation($input: RunBacktestInput!) { runBacktest(input: $input) { __typename ... on Backtest { id } } }',
    {
      input: {
        strategyId: input.strategyId,
        exchange: 'demo',
        symbol: 'DEMO/USDT',
        timeframe: '1h',
        from: input.from ?? '2024-01-01T00:00:00Z',
        to: input.to ?? '2024-02-01T00:00:00Z',
        params: input.params ?? null,
        initialCapital: input.initialCapital ?? null,
      },
    },
  )
  if (!d.runBacktest.id) throw new Error(`runBacktest: ${JSON.stringify(d.runBacktest)}`)
  return d.runBacktest.id
}

const ENDED = ['SUCCEEDED', 'FAILED', 'CANCELLED']

export async function apiSettled(token: string, ids: readonly string[], timeoutMs = 120_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const d = await api<{ nodes: ({ status: string } | null)[] }>(token, 'query($ids: [ID!]!) { nodes(ids: $ids) { ... on Backtest { status } } }', { ids })
    const statuses = d.nodes.map((n) => n?.status ?? 'GONE')
    if (statuses.every((s) => ENDED.includes(s))) return statuses
    if (Date.now() > deadline) throw new Error(`backtests still running: ${statuses.join(', ')}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

export interface ListPage {
  ids: string[]
  totalCount: number
  endCursor: string | null
  startCursor: string | null
}

export async function apiListIds(token: string, variables: Record<string, unknown>): Promise<ListPage> {
  const d = await api<{ backtests: { totalCount: number; pageInfo: { endCursor: string | null; startCursor: string | null }; edges: { node: { id: string } }[] } }>(
    token,
    `query($filter: BacktestFilter, $sort: BacktestSort, $first: Int, $after: String, $last: Int, $before: String) {
      backtests(filter: $filter, sort: $sort, first: $first, after: $after, last: $last, before: $before) {
        totalCount pageInfo { startCursor endCursor } edges { node { id } } } }`,
    variables,
  )
  const b = d.backtests
  return { ids: b.edges.map((e) => e.node.id), totalCount: b.totalCount, endCursor: b.pageInfo.endCursor, startCursor: b.pageInfo.startCursor }
}
