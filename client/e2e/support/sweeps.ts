/**
 * Sweep helpers for e2e tests (plain HTTP to the server under test, with a user's token).
 *
 *   sweepGql<T>(token, query, variables?) -> data       one POST /graphql; throws on errors
 *   sweepLogin(email, password) -> accessToken
 *   createTwoParamStrategy(token, name) -> id            the SMA crossover with $fast/$slow
 *   startSlotHolder(token, strategyId) -> sweep id       100,000 sets on the demo market: holds
 *                                                        the server's one job slot
 *                                                        (MAX_CONCURRENT_JOBS=1) for many seconds
 *   sweepRows(token, id) -> rows                         every stored row, pages of 100
 */
import { BASE_URL } from './browser'

export const DEMO_MARKET = { exchange: 'demo', symbol: 'DEMO/USDT', timeframe: '1h' }

export async function sweepGql<T>(token: string | null, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const r = await fetch(`${BASE_URL}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  })
  const body = (await r.json()) as { data?: T; errors?: unknown }
  if (body.errors || !body.data) throw new Error(`HTTP ${r.status}: ${JSON.stringify(body.errors ?? body)}`)
  return body.data
}

export async function sweepLogin(email: string, password: string): Promise<string> {
  const d = await sweepGql<{ login: { accessToken?: string } }>(
    null,
    'mutation($e:String!,$p:String!){login(input:{email:$e,password:$p}){... on AuthPayload{accessToken}}}',
    { e: email, p: password },
  )
  if (!d.login.accessToken) throw new Error('login refused')
  return d.login.accessToken
}

export async function createTwoParamStrategy(token: string, name: string): Promise<string> {
  const doc = {
    name,
    side: 'long',
    parameters: { fast: { value: 10, range: { start: 5, stop: 50, step: 5 } }, slow: { value: 50, range: { start: 20, stop: 200, step: 20 } } },
    entry: { left: { indicator: 'sma', period: '$fast' }, op: 'crosses_above', right: { indicator: 'sma', period: '$slow' } },
    exit: { left: { indicator: 'sma', period: '$fast' }, op: 'crosses_below', right: { indicator: 'sma', period: '$slow' } },
    risk: { sizing: { mode: 'fraction_of_equity', value: 1 } },
    costs: { fee_bps: 10, slippage_bps: 0 },
    initial_capital: 10000,
  }
  const d = await sweepGql<{ createStrategy: { __typename: string; id?: string } }>(
    token,
    'mutation($d:JSON!,$n:String){createStrategy(input:{document:$d,name:$n}){__typename ... on Strategy{id} ... on StrategyValidationError{problems{path message}}}}',
    { d: doc, n: name },
  )
  if (!d.createStrategy.id) throw new Error(`createStrategy: ${JSON.stringify(d.createStrategy)}`)
  return d.createStrategy.id
}

export async function startSlotHolder(token: string, strategyId: string): Promise<string> {
  const d = await sweepGql<{ runSweep: { __typename: string; id?: string } }>(
    token,
    'mutation($input: RunSweepInput!) { runSweep(input: $input) { __typename ... on Sweep { id } } }',
    {
      input: {
        strategyId,
        grid: { fast: { start: 2, stop: 201, step: 1 }, slow: { start: 202, stop: 701, step: 1 } },
        ...DEMO_MARKET,
        from: '2023-01-01T00:00:00Z',
        to: '2025-04-14T00:00:00Z',
      },
    },
  )
  if (!d.runSweep.id) throw new Error(`the slot-holding sweep was not started: ${d.runSweep.__typename}`)
  return d.runSweep.id
}

export interface ApiSweepRow {
  rank: number
  params: Record<string, number>
  metrics: Record<string, number | null>
}

export async function sweepRows(token: string, id: string, metrics: readonly string[]): Promise<ApiSweepRow[]> {
  const out: ApiSweepRow[] = []
  let after: string | null = null
  for (;;) {
    const d: { sweep: { rows: { edges: { node: ApiSweepRow }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } } = await sweepGql(
      token,
      `query($id:ID!,$after:String){sweep(id:$id){rows(first:100,after:$after){pageInfo{hasNextPage endCursor} edges{node{rank params metrics{${metrics.join(' ')}}}}}}}`,
      { id, after },
    )
    out.push(...d.sweep.rows.edges.map((e) => e.node))
    if (!d.sweep.rows.pageInfo.hasNextPage) return out
    after = d.sweep.rows.pageInfo.endCursor
  }
}
