/**
 * Transactions and replays over plain HTTP (no browser), for e2e/transactions.e2e.ts: the API's
 * own numbers to check the page against, and the small trade files the test uploads.
 *
 *   call<T>(token, query, variables?) -> data       one POST /graphql; throws on any GraphQL error
 *   tokenFor(email, password) -> accessToken
 *   plainCsv(rows) -> string                        a PLAIN_CSV file (header + rows)
 *   GOOD_FILLS                                      six DEMO/USDT fills inside the demo candles
 *   backtestOnDemo(token) -> id                     a succeeded SMA-crossover backtest (January 2023)
 *   replayFromApi(token, id) -> the replay's totals, both equity curves and its first fills
 *   holdJobSlot(token) -> id                        a big sweep that holds the one job slot for seconds
 *   endJob(token, id)                               cancels a job and waits until it has ended
 */
import { BASE_URL } from './browser'

export async function call<T>(token: string | null, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const r = await fetch(`${BASE_URL}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  })
  const body = (await r.json()) as { data?: T; errors?: unknown }
  if (body.errors || !body.data) throw new Error(`HTTP ${r.status}: ${JSON.stringify(body.errors ?? body)}`)
  return body.data
}

export async function tokenFor(email: string, password: string): Promise<string> {
  const d = await call<{ login: { accessToken?: string } }>(
    null,
    'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { ... on AuthPayload { accessToken } } }',
    { e: email, p: password },
  )
  if (!d.login.accessToken) throw new Error('login refused')
  return d.login.accessToken
}

export interface Fill {
  timestamp: string
  symbol: string
  side: 'buy' | 'sell'
  price: string
  quantity: string
  fee: string
  feeAsset: string
  tradeId: string
}

export function plainCsv(rows: readonly Fill[]): string {
  const lines = rows.map((r) => [r.timestamp, r.symbol, r.side, r.price, r.quantity, r.fee, r.feeAsset, r.tradeId].join(','))
  return ['timestamp,symbol,side,price,quantity,fee,fee_asset,trade_id', ...lines].join('\n') + '\n'
}

/** Three round trips on the demo market (hourly candles from 2023-01-01), fees in USDT. */
export const GOOD_FILLS: readonly Fill[] = [
  { timestamp: '2023-01-02T03:15:00Z', symbol: 'DEMO/USDT', side: 'buy', price: '100.40', quantity: '10', fee: '1.004', feeAsset: 'USDT', tradeId: 'e2e-1' },
  { timestamp: '2023-01-03T11:40:00Z', symbol: 'DEMO/USDT', side: 'sell', price: '101.20', quantity: '10', fee: '1.012', feeAsset: 'USDT', tradeId: 'e2e-2' },
  { timestamp: '2023-01-05T08:05:00Z', symbol: 'DEMO/USDT', side: 'buy', price: '99.80', quantity: '20', fee: '1.996', feeAsset: 'USDT', tradeId: 'e2e-3' },
  { timestamp: '2023-01-06T19:30:00Z', symbol: 'DEMO/USDT', side: 'sell', price: '100.90', quantity: '20', fee: '2.018', feeAsset: 'USDT', tradeId: 'e2e-4' },
  { timestamp: '2023-01-09T02:50:00Z', symbol: 'DEMO/USDT', side: 'buy', price: '100.10', quantity: '15', fee: '1.5015', feeAsset: 'USDT', tradeId: 'e2e-5' },
  { timestamp: '2023-01-10T21:10:00Z', symbol: 'DEMO/USDT', side: 'sell', price: '99.70', quantity: '15', fee: '1.4955', feeAsset: 'USDT', tradeId: 'e2e-6' },
]

export async function backtestOnDemo(token: string): Promise<string> {
  const doc = {
    name: 'SMA crossover',
    side: 'long',
    parameters: { fast: { value: 10 }, slow: { value: 30 } },
    entry: { left: { indicator: 'sma', period: '$fast' }, op: 'crosses_above', right: { indicator: 'sma', period: '$slow' } },
    exit: { left: { indicator: 'sma', period: '$fast' }, op: 'crosses_below', right: { indicator: 'sma', period: '$slow' } },
    risk: { sizing: { mode: 'fraction_of_equity', value: 1 } },
    costs: { fee_bps: 10, slippage_bps: 0 },
    initial_capital: 10000,
  }
  const s = await call<{ createStrategy: { id?: string } }>(
    token,
    'mutation($d: JSON!) { createStrategy(input: { document: $d, name: "Replay source" }) { ... on Strategy { id } } }',
    { d: doc },
  )
  if (!s.createStrategy.id) throw new Error('createStrategy refused')
  const b = await call<{ runBacktest: { __typename: string; id?: string } }>(
    token,
    'mutation($input: RunBacktestInput!) { runBacktest(input: $input) { __typename ... on Backtest { id } } }',
    { input: { strategyId: s.createStrategy.id, symbol: 'DEMO/USDT', timeframe: '1h', exchange: 'demo', from: '2023-01-01T00:00:00Z', to: '2023-02-01T00:00:00Z' } },
  )
  const id = b.runBacktest.id
  if (!id) throw new Error(`runBacktest: ${b.runBacktest.__typename}`)
  const deadline = Date.now() + 60_000
  for (;;) {
    const d = await call<{ backtest: { status: string } }>(token, 'query($id: ID!) { backtest(id: $id) { status } }', { id })
    if (d.backtest.status === 'SUCCEEDED') return id
    if (['FAILED', 'CANCELLED'].includes(d.backtest.status) || Date.now() > deadline) throw new Error(`backtest ${d.backtest.status}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

export interface ApiFill {
  seq: number
  row: number
  time: string
  price: number
  replayTime: string | null
  replayPrice: number | null
  slippage: number | null
  feeAttribution: number | null
  realizedPnl: number | null
}

export interface ApiReplay {
  status: string
  delayBars: number
  totals: { nFills: number; slippage: number; feeAttribution: number; droppedPnl: number | null; pnlDifference: number; nDropped: number }
  equityCurve: { times: number[]; values: number[] }
  actualEquityCurve: { times: number[]; values: number[] }
  fills: { totalCount: number; edges: { node: ApiFill }[] }
}

/** The replay as the page asks for it (2,000 points a curve, the first page of 25 fills). */
export async function replayFromApi(token: string, id: string): Promise<ApiReplay> {
  const d = await call<{ replay: ApiReplay }>(
    token,
    `query($id: ID!) { replay(id: $id) {
      status delayBars
      totals { nFills slippage feeAttribution droppedPnl pnlDifference nDropped }
      equityCurve(maxPoints: 2000) { times values }
      actualEquityCurve(maxPoints: 2000) { times values }
      fills(first: 25) { totalCount edges { node { seq row time price replayTime replayPrice slippage feeAttribution realizedPnl } } }
    } }`,
    { id },
  )
  return d.replay
}

/** A sweep of 40,000 sets on the demo market: it holds the one job slot (MAX_CONCURRENT_JOBS=1) for seconds, so a replay queued behind it waits. */
export async function holdJobSlot(token: string): Promise<string> {
  const doc = {
    name: 'Slot holder',
    side: 'long',
    parameters: { fast: { value: 10 }, slow: { value: 50 } },
    entry: { left: { indicator: 'sma', period: '$fast' }, op: 'crosses_above', right: { indicator: 'sma', period: '$slow' } },
    exit: { left: { indicator: 'sma', period: '$fast' }, op: 'crosses_below', right: { indicator: 'sma', period: '$slow' } },
    risk: { sizing: { mode: 'fraction_of_equity', value: 1 } },
    costs: { fee_bps: 10, slippage_bps: 0 },
    initial_capital: 10000,
  }
  const s = await call<{ createStrategy: { id?: string } }>(
    token,
    'mutation($d: JSON!) { createStrategy(input: { document: $d, name: "Slot holder" }) { ... on Strategy { id } } }',
    { d: doc },
  )
  const d = await call<{ runSweep: { id?: string } }>(
    token,
    'mutation($input: RunSweepInput!) { runSweep(input: $input) { ... on Sweep { id } } }',
    {
      input: {
        strategyId: s.createStrategy.id,
        grid: { fast: { start: 2, stop: 101, step: 1 }, slow: { start: 102, stop: 501, step: 1 } },
        symbol: 'DEMO/USDT',
        timeframe: '1h',
        from: '2023-01-01T00:00:00Z',
        to: '2025-04-14T00:00:00Z',
      },
    },
  )
  if (!d.runSweep.id) throw new Error('runSweep refused')
  return d.runSweep.id
}

/** Cancels any job and waits until it has ended. */
export async function endJob(token: string, id: string): Promise<void> {
  await call(token, 'mutation($id: ID!) { cancelJob(id: $id) { __typename } }', { id })
  const deadline = Date.now() + 60_000
  for (;;) {
    const d = await call<{ node: { status?: string } | null }>(token, 'query($id: ID!) { node(id: $id) { ... on Job { status } } }', { id })
    if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(d.node?.status ?? '')) return
    if (Date.now() > deadline) throw new Error(`job ${id} did not end`)
    await new Promise((r) => setTimeout(r, 250))
  }
}
