/**
 * Market data helpers for e2e tests (the market data engineer's).
 *
 *   FAKE                              the fake Binance globalSetup runs (restUrl, wsUrl, controlUrl)
 *   fakeKlineEvents() -> KlineEvent[] every kline event its websocket has sent so far (the
 *                                     control server of tests/tasks/serve_fake_binance.py; the
 *                                     test's side door, never the browser's)
 *   fakeDelayKlines(seconds, count)   the fake's next `count` kline pages answer `seconds` late
 *                                     (a sync that runs long enough to be cancelled)
 *   apiAs(email, password) -> gql     a signed-in GraphQL client over plain HTTP
 *   klineCsv(opens, {highBelowAt?})   a Binance kline dump (12 columns, no header), one bar per
 *                                     open time (ms); highBelowAt: that row's high is made lower
 *                                     than its close (a row the import must refuse)
 *   chartCounts(page, id)             window.__charts[id]() (counts and the last bar drawn)
 */
import { inject } from 'vitest'
import type { Page } from 'playwright-core'
import { BASE_URL } from './browser'

export const FAKE: { restUrl: string; wsUrl: string; controlUrl: string } = inject('fakeBinance')

export interface KlineEvent {
  e: 'kline'
  E: number
  s: string
  k: { t: number; T: number; s: string; i: string; o: string; h: string; l: string; c: string; v: string; x: boolean }
}

export async function fakeKlineEvents(): Promise<KlineEvent[]> {
  const r = await fetch(`${FAKE.controlUrl}/events`)
  if (!r.ok) throw new Error(`fake Binance control: ${r.status}`)
  return (await r.json()) as KlineEvent[]
}

export async function fakeDelayKlines(seconds: number, count = 1): Promise<void> {
  const r = await fetch(`${FAKE.controlUrl}/delay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ seconds, count }),
  })
  if (!r.ok) throw new Error(`fake Binance control: ${r.status} ${await r.text()}`)
}

export type Gql = <T>(query: string, variables?: Record<string, unknown>) => Promise<T>

async function post<T>(token: string | null, query: string, variables: Record<string, unknown>): Promise<T> {
  const r = await fetch(`${BASE_URL}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  })
  const body = (await r.json()) as { data: T; errors?: unknown }
  if (body.errors) throw new Error(JSON.stringify(body.errors))
  return body.data
}

export async function apiAs(email: string, password: string): Promise<Gql> {
  const d = await post<{ login: { accessToken?: string } }>(
    null,
    'mutation($e:String!,$p:String!){login(input:{email:$e,password:$p}){... on AuthPayload{accessToken}}}',
    { e: email, p: password },
  )
  const token = d.login.accessToken
  if (!token) throw new Error(`cannot sign in as ${email}`)
  return (query, variables = {}) => post(token, query, variables)
}

export function klineCsv(opens: number[], opts: { highBelowAt?: number } = {}): string {
  return opens
    .map((t, i) => {
      const o = 100 + i
      const c = o + 1
      const h = opts.highBelowAt === i ? c - 0.5 : o + 2
      return [t, o, h, o - 1, c, 10.5, t + 3_599_999, 1050, 7, 5, 500, 0].join(',')
    })
    .join('\n')
}

export async function chartCounts(page: Page, id: string): Promise<Record<string, number> | null> {
  return page.evaluate((k) => {
    const charts = (window as unknown as { __charts?: Record<string, () => Record<string, number>> }).__charts
    return charts?.[k]?.() ?? null
  }, id)
}
