/**
 * The fake Binance's account for the exchange keys test (e2e/exchange-keys.e2e.ts): its API key
 * and secret, and the fills it serves (tests/tasks/fake_binance_account.py's `make_trades`
 * format), registered on the fake through its control server (POST /accounts, see
 * tests/tasks/serve_fake_binance.py).
 *
 *   E2E_ACCOUNT                      { apiKey, apiSecret, from, to }: the key, and the UTC days to import
 *   ensureE2eAccount()               registers the account on the fake (once per run; idempotent)
 *   e2eAccountTrades()               the fills of `from`..`to` (both days included), oldest first
 *   fakeSignedCount()                how many signed requests the fake has accepted so far
 */
import { FAKE } from './market'

export const E2E_ACCOUNT = {
  apiKey: 'e2eBinanceApiKey4xQ7',
  apiSecret: 'e2eBinanceSecret9mK2pL5vN8',
  from: '2024-03-01',
  to: '2024-03-02',
} as const

export interface FakeTrade {
  symbol: string
  id: number
  time: number
}

const HOUR = 3_600_000
const DAY = 24 * HOUR
const FROM = Date.parse(`${E2E_ACCOUNT.from}T00:00:00Z`)

/**
 * What the account holds (the fake makes each symbol's fills from START every STEP, ids from
 * 1): 12 BTCUSDT fills, the last 2 after the days imported, and 6 ETHUSDT fills, all inside.
 */
const START = FROM + 2 * HOUR
const STEP = 5 * HOUR
const TRADES = { BTCUSDT: 12, ETHUSDT: 6 } as const

export function e2eAccountTrades(): FakeTrade[] {
  const end = Date.parse(`${E2E_ACCOUNT.to}T00:00:00Z`) + DAY
  return Object.entries(TRADES)
    .flatMap(([symbol, count]) => Array.from({ length: count }, (_, n) => ({ symbol, id: n + 1, time: START + n * STEP })))
    .filter((t) => t.time >= FROM && t.time < end)
    .sort((a, b) => a.time - b.time || a.symbol.localeCompare(b.symbol))
}

async function control(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const r = await fetch(`${FAKE.controlUrl}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  })
  if (!r.ok) throw new Error(`fake Binance control ${method} ${path}: ${r.status} ${await r.text()}`)
  return r.json()
}

let registered: Promise<unknown> | null = null
export function ensureE2eAccount(): Promise<unknown> {
  registered ??= control('POST', '/accounts', {
    api_key: E2E_ACCOUNT.apiKey,
    api_secret: E2E_ACCOUNT.apiSecret,
    trades: TRADES,
    start_ms: START,
    step_ms: STEP,
    balances: { USDT: '1000.00000000', BTC: '0.50000000' },
  })
  return registered
}

export async function fakeSignedCount(): Promise<number> {
  const state = (await control('GET', '/state')) as { signed?: number }
  return state.signed ?? 0
}
