// The backtest flow end to end, against the real server: register, build an SMA crossover by
// clicking, run it on the demo market and watch it reach 100 %, check the charts (candles, two
// markers per closed trade), sort the trades, export the CSV and compare it with the API's
// trades (plain HTTP), and a second user sees "not found" at the first user's URL. axe and
// screenshots in both themes and both sizes.
import { readFile } from 'node:fs/promises'
import { describe, expect, test } from 'vitest'
import { BASE_URL, checkA11y, goto, newPage, registerUser, screenshot, setTheme } from './support/browser'
import { buildSmaCrossover } from './support/strategies'
import { parseTradesCsv, TRADE_COLUMNS } from '../src/features/backtests/exports'

async function gql<T>(token: string | null, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const r = await fetch(`${BASE_URL}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  })
  const body = (await r.json()) as { data: T; errors?: unknown }
  if (body.errors) throw new Error(JSON.stringify(body.errors))
  return body.data
}

async function login(email: string, password: string): Promise<string> {
  const d = await gql<{ login: { accessToken: string } }>(
    null,
    'mutation($e:String!,$p:String!){login(input:{email:$e,password:$p}){... on AuthPayload{accessToken}}}',
    { e: email, p: password },
  )
  return d.login.accessToken
}

/** Every trade of a backtest, in trade order (pages of 100). */
async function apiTrades(token: string, id: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = []
  let after: string | null = null
  for (;;) {
    const d: { backtest: { trades: { edges: { node: Record<string, unknown> }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } } = await gql(
      token,
      `query($id:ID!,$after:String){backtest(id:$id){trades(first:100,after:$after){pageInfo{hasNextPage endCursor} edges{node{${TRADE_COLUMNS.join(' ')}}}}}}`,
      { id, after },
    )
    out.push(...d.backtest.trades.edges.map((e) => e.node))
    if (!d.backtest.trades.pageInfo.hasNextPage) return out
    after = d.backtest.trades.pageInfo.endCursor
  }
}

/** The SMA crossover with $fast/$slow parameters, saved through the API: its id. */
async function smaCrossoverViaApi(token: string, name: string): Promise<string> {
  const doc = {
    name: 'SMA crossover',
    side: 'long',
    parameters: { fast: { value: 10 }, slow: { value: 50 } },
    entry: { left: { indicator: 'sma', period: '$fast' }, op: 'crosses_above', right: { indicator: 'sma', period: '$slow' } },
    exit: { left: { indicator: 'sma', period: '$fast' }, op: 'crosses_below', right: { indicator: 'sma', period: '$slow' } },
    risk: { sizing: { mode: 'fraction_of_equity', value: 1 } },
    costs: { fee_bps: 10, slippage_bps: 0 },
    initial_capital: 10000,
  }
  const d = await gql<{ createStrategy: { __typename: string; id?: string; problems?: unknown } }>(
    token,
    'mutation($d:JSON!,$n:String){createStrategy(input:{document:$d,name:$n}){__typename ... on Strategy{id} ... on StrategyValidationError{problems{path message}}}}',
    { d: doc, n: name },
  )
  if (!d.createStrategy.id) throw new Error(`createStrategy: ${JSON.stringify(d.createStrategy)}`)
  return d.createStrategy.id
}

/** Starts a sweep of 40,000 sets on the demo market (several seconds of work): its id. */
async function holdTheJobSlot(token: string): Promise<string> {
  const id = await smaCrossoverViaApi(token, 'Sweep that holds the slot')
  const d = await gql<{ runSweep: { __typename: string; id?: string } }>(
    token,
    `mutation($input: RunSweepInput!) { runSweep(input: $input) { __typename ... on Sweep { id } } }`,
    {
      input: {
        strategyId: id,
        grid: { fast: { start: 2, stop: 101, step: 1 }, slow: { start: 102, stop: 501, step: 1 } },
        symbol: 'DEMO/USDT',
        timeframe: '1h',
        from: '2023-01-01T00:00:00Z',
        to: '2025-04-14T00:00:00Z',
      },
    },
  )
  if (!d.runSweep.id) throw new Error(`the blocking sweep was not started: ${d.runSweep.__typename}`)
  return d.runSweep.id
}

describe('backtests', () => {
  test('run an SMA crossover on the demo market and read its results', async () => {
    const page = await newPage({ size: 'desktop' })
    const user = await registerUser(page)
    const token = await login(user.email, user.password)
    const strategyId = await buildSmaCrossover(page) // by clicking in the rule builder

    // the form: the demo market (other tests may have stored more on this server); its range is
    // the default
    await goto(page, `/backtests/new?strategy=${encodeURIComponent(strategyId)}`)
    await page.getByTestId('coverage-bar').waitFor()
    await page.getByLabel('Exchange').selectOption('demo')
    await expect.poll(() => page.getByLabel('Symbol').inputValue()).toBe('DEMO/USDT')
    expect(await page.getByLabel('Initial capital').inputValue()).toBe('10000')
    // parameters, when the strategy has $params (the rule builder's SMA crossover uses literal periods)
    const fast = page.getByLabel('fast (default 10)')
    if (await fast.count()) expect(await fast.inputValue()).toBe('10')
    await checkA11y(page, 'new backtest')
    await screenshot(page, 'backtest-new')
    await setTheme(page, 'dark')
    await page.getByTestId('coverage-bar').waitFor()
    await checkA11y(page, 'new backtest (dark)')
    await screenshot(page, 'backtest-new')
    await setTheme(page, 'light') // (a reload: the form starts again from its defaults)
    await page.getByTestId('coverage-bar').waitFor()
    await page.getByLabel('Exchange').selectOption('demo')
    await expect.poll(() => page.getByLabel('Symbol').inputValue()).toBe('DEMO/USDT')
    await expect.poll(() => page.getByLabel('From (UTC, inclusive)').inputValue()).toBe('2023-01-01') // the demo's range

    // an error from the API lands at its field
    await page.getByLabel('Initial capital').fill('-5')
    await page.getByTestId('backtest-submit').click()
    await expect.poll(() => page.locator('#err-initialCapital').textContent()).toContain('must be')
    await page.getByLabel('Initial capital').fill('10000')

    // record every percent the running card shows
    await page.evaluate(() => {
      const seen: string[] = ((window as unknown as { __percents: string[] }).__percents = [])
      new MutationObserver(() => {
        const t = document.querySelector('[data-testid="backtest-percent"]')?.textContent
        if (t && seen[seen.length - 1] !== t) seen.push(t)
      }).observe(document.body, { subtree: true, childList: true, characterData: true })
    })
    // the run takes a fraction of a second: so that the page is open before it starts, a big
    // sweep holds the server's one job slot (MAX_CONCURRENT_JOBS=1 in globalSetup) until the
    // page shows the run waiting; cancelling the sweep lets it go
    const blocker = await holdTheJobSlot(token)
    await page.getByTestId('backtest-submit').click()
    await page.waitForURL(/\/backtests\/(?!new)[^/]+$/)
    const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!)
    await expect.poll(() => page.getByTestId('backtest-percent').textContent(), { timeout: 30_000 }).toBe('0 %')
    await gql(token, 'mutation($id: ID!) { cancelJob(id: $id) { __typename } }', { id: blocker })

    // progress to 100 %, then the results
    await page.getByTestId('backtest-results').waitFor({ timeout: 90_000 })
    await expect.poll(() => page.getByTestId('backtest-status').textContent()).toContain('Succeeded')
    const percents = await page.evaluate(() => (window as unknown as { __percents: string[] }).__percents)
    console.log(`[backtest e2e] progress shown: ${percents.join(', ')}`)
    expect(percents[0]).toBe('0 %') // waiting behind the sweep
    expect(percents[percents.length - 1]).toBe('100 %')

    // the chart: every candle of the run, two markers per closed trade
    const expected = await gql<{ backtest: { summary: { nTrades: number }; trades: { totalCount: number } }; candles: { count: number } }>(
      token,
      'query($id:ID!){backtest(id:$id){summary{nTrades} trades{totalCount}} candles(symbol:"DEMO/USDT",timeframe:"1h",exchange:"demo",limit:200000){count}}',
      { id },
    )
    const chart = page.getByTestId('candle-chart')
    await expect.poll(() => chart.getAttribute('data-candles'), { timeout: 30_000 }).toBe(String(expected.candles.count))
    await expect.poll(() => chart.getAttribute('data-markers'), { timeout: 30_000 }).toBe(String(2 * expected.backtest.trades.totalCount))
    expect(await chart.getAttribute('role')).toBe('img')
    const hook = await page.evaluate(() => window.__charts?.['candle-chart']?.())
    expect(hook?.markers).toBe(2 * expected.backtest.trades.totalCount)

    // the trades table sorts by PnL (descending first), server-side
    await page.getByTestId('sort-PNL').click()
    await expect.poll(async () => {
      const pnls = await page.locator('[data-testid="trades-table"] tbody tr[data-pnl]').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-pnl'))))
      return pnls.length > 1 && pnls.every((v, i) => i === 0 || pnls[i - 1]! >= v)
    }).toBe(true)
    // a row moves the chart to its trade
    await page.locator('[data-testid="trades-table"] tbody tr[data-pnl] button').first().click()

    // the CSV export equals the API's trades
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-trades-csv').click()])
    const csv = await readFile((await download.path())!, 'utf8')
    const rows = parseTradesCsv(csv)
    const api = await apiTrades(token, id)
    expect(rows).toHaveLength(api.length)
    rows.forEach((row, i) => {
      for (const c of TRADE_COLUMNS) expect(row[c], `trade ${i} ${c}`).toEqual(api[i]![c])
    })

    await checkA11y(page, 'backtest results (light)')
    await screenshot(page, 'backtest-results')
    await setTheme(page, 'dark')
    await page.getByTestId('backtest-results').waitFor()
    await expect.poll(() => chart.getAttribute('data-candles'), { timeout: 30_000 }).toBe(String(expected.candles.count))
    await checkA11y(page, 'backtest results (dark)')
    await screenshot(page, 'backtest-results')
    await setTheme(page, 'light')

    // the list shows it
    await goto(page, '/backtests')
    await expect.poll(() => page.getByTestId('backtests-table').textContent()).toContain('DEMO/USDT')
    await checkA11y(page, 'backtests list')
    await screenshot(page, 'backtests')
    await setTheme(page, 'dark')
    await expect.poll(() => page.getByTestId('backtests-table').textContent()).toContain('DEMO/USDT')
    await checkA11y(page, 'backtests list (dark)')
    await screenshot(page, 'backtests')

    // another user: not found
    const other = await newPage({ size: 'desktop' })
    await registerUser(other)
    await goto(other, `/backtests/${encodeURIComponent(id)}`)
    await other.getByTestId('backtest-not-found').waitFor()
    await checkA11y(other, 'backtest not found')
    await screenshot(other, 'backtest-not-found')
    await setTheme(other, 'dark')
    await other.getByTestId('backtest-not-found').waitFor()
    await checkA11y(other, 'backtest not found (dark)')
    await screenshot(other, 'backtest-not-found')
  }, 240_000)
})
