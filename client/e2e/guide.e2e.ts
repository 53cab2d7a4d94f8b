// The user guide's screenshots (docs/guide.md), taken on the real e2e server by walking the
// guide's steps as a new user would: register, look at the market data, build a strategy in the
// rule builder, run a backtest and watch it, read its results, compare runs, sweep two
// parameters, import transactions and replay them, create a personal access token. Each step
// checks that the page shows what the guide says, then saves one 1280×800 screenshot (the
// viewport, light theme unless the name ends in -dark) to docs/images/guide/<name>.png: the
// names are the guide's, keep them stable.
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import type { Locator, Page } from 'playwright-core'
import { SIZES, goto, newPage, setTheme } from './support/browser'
import { fillSmaCrossover, saveStrategy } from './support/strategies'
import { apiRun, apiSettled, apiStrategy } from './support/backtestRuns'
import { GOOD_FILLS, call, holdJobSlot, plainCsv, tokenFor } from './support/replays'
import { E2E_ACCOUNT, ensureE2eAccount } from './support/exchangeKeys'

const OUT = fileURLToPath(new URL('../../docs/images/guide/', import.meta.url))

/** The viewport (1280×800), scrolled so that `at` (when given) is near the top. */
async function shot(page: Page, name: string, at?: Locator): Promise<void> {
  mkdirSync(OUT, { recursive: true })
  await page.setViewportSize(SIZES.desktop)
  // notifications ("Backtest finished.") would cover what the picture is about
  await page.addStyleTag({ content: '[data-sonner-toaster] { display: none !important; }' })
  if (at) {
    await at.scrollIntoViewIfNeeded()
    await at.evaluate((el) => window.scrollBy(0, el.getBoundingClientRect().top - 72))
  } else {
    await page.evaluate(() => window.scrollTo(0, 0))
  }
  await page.mouse.move(1, 1) // no chart crosshair or hover state under the pointer
  // two frames: charts paint on the next animation frame
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
  await page.waitForTimeout(150)
  await page.screenshot({ path: `${OUT}${name}.png`, fullPage: false })
}

const DEMO_RANGE = { from: '2023-01-01T00:00:00Z', to: '2025-04-14T00:00:00Z' }

describe('user guide', () => {
  test('walk the guide and take its screenshots', { timeout: 150_000 }, async () => {
    const page = await newPage({ size: 'desktop', colorScheme: 'light' })

    // 1. sign in / register
    await goto(page, '/sign-in')
    await page.getByRole('button', { name: 'Sign in' }).waitFor()
    await shot(page, 'sign-in')
    const email = 'you@example.com' // the only account the guide's server sees registered this way
    const password = 'a-long-guide-password'
    await goto(page, '/register')
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Password', { exact: true }).fill(password)
    await page.getByRole('button', { name: 'Create account' }).waitFor()
    await page.getByRole('button', { name: 'Create account' }).click()
    await page.waitForURL((url) => !url.pathname.startsWith('/register'))
    await page.locator('main h1').first().waitFor()
    const token = await tokenFor(email, password)

    // 2. market data: the demo candles are stored
    await goto(page, '/market')
    const demoRow = page.getByTestId('coverage-row').filter({ hasText: 'DEMO/USDT' })
    await demoRow.first().waitFor()
    await page.getByTestId('sync-form').waitFor()
    await shot(page, 'market-data')

    // 3. a strategy in the rule builder
    await goto(page, '/strategies/new')
    await page.getByTestId('field-name').waitFor()
    await fillSmaCrossover(page, { name: 'SMA crossover', fast: 10, slow: 50 })
    await shot(page, 'strategy-builder')
    const strategyId = await saveStrategy(page)

    // 4. a backtest on the demo market
    await goto(page, `/backtests/new?strategy=${encodeURIComponent(strategyId)}`)
    await page.getByTestId('coverage-bar').waitFor()
    await page.getByLabel('Exchange').selectOption('demo')
    await expect.poll(() => page.getByLabel('Symbol').inputValue()).toBe('DEMO/USDT')
    await expect.poll(() => page.getByLabel('From (UTC, inclusive)').inputValue()).toBe('2023-01-01')
    await shot(page, 'backtest-new')

    // ... watched while it waits: a big sweep holds the server's one job slot first
    // (MAX_CONCURRENT_JOBS=1 in globalSetup), so the page is seen queued at 0 %
    const holder = await holdJobSlot(token)
    await page.getByTestId('backtest-submit').click()
    await page.waitForURL(/\/backtests\/(?!new)[^/]+$/)
    const backtestId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!)
    await expect.poll(() => page.getByTestId('backtest-percent').textContent(), { timeout: 30_000 }).toBe('0 %')
    await page.getByTestId('backtest-running').waitFor()
    await shot(page, 'backtest-running')
    await call(token, 'mutation($id: ID!) { cancelJob(id: $id) { __typename } }', { id: holder })

    // 5. its results: KPIs and charts, then the trades table with its exports
    await page.getByTestId('backtest-results').waitFor({ timeout: 120_000 })
    await expect.poll(() => page.getByTestId('backtest-status').textContent()).toContain('Succeeded')
    await page.getByTestId('backtest-kpis').waitFor()
    const candles = page.getByTestId('candle-chart')
    await expect.poll(() => candles.getAttribute('data-markers'), { timeout: 30_000 }).toMatch(/^[1-9]\d*$/)
    await shot(page, 'backtest-results')
    await shot(page, 'backtest-equity', page.getByRole('heading', { name: 'Equity and drawdown' }))
    await page.getByTestId('trades-table').waitFor()
    await page.getByTestId('export-trades-csv').waitFor()
    await shot(page, 'backtest-trades', page.getByRole('heading', { name: 'Trades', exact: true }))
    await setTheme(page, 'dark')
    await page.getByTestId('backtest-results').waitFor({ timeout: 30_000 })
    await expect.poll(() => candles.getAttribute('data-markers'), { timeout: 30_000 }).toMatch(/^[1-9]\d*$/)
    await shot(page, 'backtest-results-dark')
    await setTheme(page, 'light')

    // 6. compare: the same crossover with $fast/$slow parameters (as the JSON tab would write
    // it), run twice with other values
    const withParams = await apiStrategy(token, 'SMA crossover ($fast, $slow)')
    const others = [
      await apiRun(token, { strategyId: withParams, params: { fast: 20, slow: 100 }, ...DEMO_RANGE }),
      await apiRun(token, { strategyId: withParams, params: { fast: 5, slow: 30 }, ...DEMO_RANGE }),
    ]
    expect(await apiSettled(token, others)).toEqual(['SUCCEEDED', 'SUCCEEDED'])
    await goto(page, `/backtests/compare?ids=${[backtestId, ...others].map(encodeURIComponent).join(',')}`)
    await page.getByTestId('compare-metrics').waitFor()
    await expect.poll(() => page.getByTestId('compare-best').count()).toBeGreaterThan(0)
    await shot(page, 'compare')

    // 7. a sweep of fast × slow, read on its heatmap
    const sweep = await call<{ runSweep: { __typename: string; id?: string } }>(
      token,
      'mutation($input: RunSweepInput!) { runSweep(input: $input) { __typename ... on Sweep { id } } }',
      {
        input: {
          strategyId: withParams,
          grid: { fast: [5, 10, 15, 20, 25], slow: [40, 60, 80, 100, 120, 150] },
          exchange: 'demo',
          symbol: 'DEMO/USDT',
          timeframe: '1h',
          ...DEMO_RANGE,
        },
      },
    )
    expect(sweep.runSweep.__typename).toBe('Sweep')
    await goto(page, `/sweeps/${encodeURIComponent(sweep.runSweep.id!)}`)
    await page.getByTestId('sweep-results').waitFor({ timeout: 90_000 })
    await expect.poll(() => page.getByTestId('heat-cell').count(), { timeout: 30_000 }).toBe(30)
    await shot(page, 'sweep-heatmap', page.getByRole('heading', { name: 'Heatmap' }))

    // 8. transactions: a plain CSV of six fills, then a what-if replay of them
    await goto(page, '/transactions')
    await page.locator('#tx-file').setInputFiles({ name: 'fills.csv', mimeType: 'text/csv', buffer: Buffer.from(plainCsv(GOOD_FILLS)) })
    await page.locator('#tx-exchange').fill('demo')
    await page.getByTestId('tx-import').click()
    await expect.poll(() => page.getByTestId('tx-imported').textContent()).toContain('6 new fills stored')
    await expect.poll(() => page.getByTestId('import-row').count()).toBe(1)
    await shot(page, 'transactions')
    await page.getByTestId('import-replay').first().click()
    await expect.poll(() => page.url()).toContain('tab=replays')
    await page.locator('#replay-exchange').fill('demo')
    await page.getByTestId('replay-fill').selectOption('OPEN')
    await page.getByTestId('replay-custom-fee').check()
    await page.locator('#replay-fee').fill('10')
    await page.locator('#replay-slippage').fill('5')
    await page.locator('#replay-delay').fill('1')
    await page.getByTestId('replay-run').click()
    await page.waitForURL(/\/replays\//)
    await expect.poll(() => page.getByTestId('replay-status').textContent(), { timeout: 30_000 }).toBe('Succeeded')
    await expect.poll(() => page.evaluate(() => window.__charts?.['replay-overlay']?.()?.replayedPoints ?? 0)).toBeGreaterThan(0)
    await page.getByTestId('replay-attribution').waitFor()
    await shot(page, 'replay')

    // 9. settings: a personal access token for scripts (dark theme)
    await setTheme(page, 'dark')
    await goto(page, '/settings')
    await page.getByTestId('tokens-empty').waitFor()
    await page.getByTestId('create-token').click()
    await page.getByLabel('Token name').fill('my script')
    await page.getByLabel('Access', { exact: true }).selectOption('READ_WRITE')
    await page.getByTestId('create-token').click()
    await page.getByTestId('new-token').waitFor()
    expect(await page.getByTestId('new-token-value').inputValue()).toMatch(/^bt_pat_/)
    await shot(page, 'settings-tokens-dark', page.getByRole('heading', { name: 'Personal access tokens' }))

    // 10. an exchange key (the fake Binance's account), tested, then "Import from Binance"
    await ensureE2eAccount()
    await setTheme(page, 'light')
    await goto(page, '/settings#exchange-keys')
    await page.getByTestId('exchange-keys-empty').waitFor()
    await page.locator('#key-label').fill('Main account')
    await page.locator('#key-api-key').fill(E2E_ACCOUNT.apiKey)
    await page.locator('#key-api-secret').fill(E2E_ACCOUNT.apiSecret)
    await page.getByTestId('add-exchange-key').click()
    const keyRow = page.locator('[data-testid="exchange-key-row"][data-label="Main account"]')
    await expect.poll(() => keyRow.getByTestId('exchange-key-mask').textContent()).toBe(`••••${E2E_ACCOUNT.apiKey.slice(-4)}`)
    await keyRow.getByTestId('test-exchange-key').click()
    await expect.poll(() => keyRow.getByTestId('exchange-key-test').getAttribute('data-tone')).toBe('success')
    await shot(page, 'settings-exchange-keys', page.getByRole('heading', { name: 'Exchange keys', exact: true }))
    await goto(page, '/transactions')
    await page.getByTestId('exchange-import-open').click()
    await page.locator('#ex-symbols').fill('BTC/USDT, ETH/USDT')
    await page.locator('#ex-from').fill(E2E_ACCOUNT.from)
    await page.locator('#ex-to').fill(E2E_ACCOUNT.to)
    await page.getByTestId('ex-import-start').click()
    const job = page.getByTestId('exchange-import-job')
    await expect.poll(() => job.getAttribute('data-status'), { timeout: 30_000 }).toBe('SUCCEEDED')
    await page.getByTestId('exchange-import-done').waitFor()
    await expect.poll(() => page.getByTestId('import-row').count()).toBe(2)
    await shot(page, 'import-from-binance', page.getByTestId('exchange-import'))

    // 11. the dashboard, now that there is something on it (dark theme)
    await setTheme(page, 'dark')
    await goto(page, '/')
    await page.getByTestId('dashboard-results').waitFor()
    await expect.poll(() => page.getByTestId('result-card').count()).toBeGreaterThan(0)
    await shot(page, 'dashboard-dark')
  })
})
