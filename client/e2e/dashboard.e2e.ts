// The dashboard end to end, against the real server: a first-time user sees the next steps;
// jobs started through the API (with the user's own session token) show up live, running with
// their progress or queued behind it (MAX_CONCURRENT_JOBS=1); one is cancelled from the page;
// a backtest that ends appears among the latest results with the API's metrics and its equity
// sparkline; the stored market data is listed with its coverage. axe and screenshots in both
// themes and both sizes.
import { describe, expect, test } from 'vitest'
import type { Page } from 'playwright-core'
import { SIZES, checkA11y, newPage, registerUser, screenshot, setTheme } from './support/browser'
import { createSmaStrategy, gql, login, runBacktest, runBigSweep, waitForStatus } from './support/api'
import { num, pct } from '../src/features/backtests/format'
import { signedPercent } from '../src/features/dashboard/rows'

async function audit(page: Page, name: string): Promise<void> {
  for (const [size, viewport] of Object.entries(SIZES)) {
    await page.setViewportSize(viewport)
    await checkA11y(page, `${name} (${size})`)
  }
  await page.setViewportSize(SIZES.desktop)
  await screenshot(page, name)
}

const job = (page: Page, id: string) => page.locator(`[data-testid="dashboard-job"][data-job-id="${id}"]`)

interface Summary {
  totalReturn: number | null
  maxDrawdown: number | null
  sharpe: number | null
  nTrades: number | null
  winRate: number | null
}

describe('dashboard', () => {
  test('running jobs live with cancel, the latest results with their metrics, market data', async () => {
    const page = await newPage()
    const user = await registerUser(page) // lands on the dashboard
    await page.getByTestId('dashboard-empty').waitFor()
    expect(await page.getByTestId('dashboard-new-backtest').getAttribute('href')).toBe('/backtests/new')
    expect(await page.getByTestId('dashboard-new-sweep').getAttribute('href')).toBe('/sweeps/new')
    // the demo market is stored already: listed with its coverage even for a first-time user
    const demo = page.getByTestId('market-row').filter({ hasText: 'DEMO/USDT' })
    await demo.waitFor()
    // (other tests may have stored more series on the same server: find the demo one)
    const series = await gql<{ symbols: { edges: { node: { exchange: string; symbol: string; count: number; missingBars: number } }[] } }>(
      await login(user.email, user.password),
      '{ symbols(exchange: "demo", first: 5) { edges { node { exchange symbol count missingBars } } } }',
    )
    const demoSeries = series.symbols.edges.find((e) => e.node.symbol === 'DEMO/USDT')!.node
    expect(await demo.textContent()).toContain(demoSeries.count.toLocaleString('en-US'))

    // jobs started through the API: the open page hears of them on the jobEvents feed
    const token = await login(user.email, user.password)
    const strategyId = await createSmaStrategy(token, 'Dashboard SMA')
    const first = await runBacktest(token, strategyId)
    await waitForStatus(token, first, ['SUCCEEDED'])
    const sweepA = await runBigSweep(token, strategyId) // holds the one job slot
    const sweepB = await runBigSweep(token, strategyId) // queued behind it
    const last = await runBacktest(token, strategyId, { fast: 5, slow: 30 }) // queued too

    await job(page, sweepA).waitFor()
    await job(page, sweepB).waitFor()
    await job(page, last).waitFor()
    await expect.poll(() => job(page, sweepA).getAttribute('data-status'), { timeout: 30_000 }).toBe('RUNNING')
    expect(await job(page, last).getByTestId('job-status').textContent()).toBe('Queued')
    expect(await job(page, last).getByTestId('job-percent').textContent()).toBe('0 %')
    expect(await job(page, sweepA).textContent()).toContain('40,000 parameter sets')
    // live progress: the running sweep's percent moves up
    const percent = async (): Promise<number> => Number.parseInt((await job(page, sweepA).getByTestId('job-percent').textContent()) ?? '0', 10)
    await expect.poll(percent, { timeout: 30_000 }).toBeGreaterThan(0)
    expect(await job(page, sweepA).getByRole('progressbar').getAttribute('aria-valuenow')).toBe(String(await percent()))

    // the first result is listed already
    const firstCard = page.locator(`[data-testid="result-card"][data-backtest-id="${first}"]`)
    await firstCard.waitFor()

    // cancel the running sweep from the page: it ends cancelled and leaves the list; the next one runs
    await job(page, sweepA).getByTestId('job-cancel').click()
    await job(page, sweepA).waitFor({ state: 'detached', timeout: 30_000 })
    expect(await waitForStatus(token, sweepA, ['CANCELLED', 'SUCCEEDED'], 5_000)).toBe('CANCELLED')
    await expect.poll(() => job(page, sweepB).getAttribute('data-status'), { timeout: 30_000 }).toBe('RUNNING')

    // both themes, both sizes, with jobs running and queued
    await audit(page, 'dashboard')
    await setTheme(page, 'dark')
    await page.getByTestId('result-card').first().waitFor()
    await page.getByTestId('dashboard-jobs').waitFor()
    await audit(page, 'dashboard')
    await setTheme(page, 'light')
    await page.getByTestId('dashboard-jobs').waitFor()

    // let the last backtest through: it leaves the running jobs and tops the latest results
    await gql(token, 'mutation($id: ID!) { cancelJob(id: $id) { __typename } }', { id: sweepB })
    await waitForStatus(token, last, ['SUCCEEDED'])
    await job(page, last).waitFor({ state: 'detached', timeout: 30_000 })
    const card = page.getByTestId('result-card').first()
    await expect.poll(() => card.getAttribute('data-backtest-id'), { timeout: 30_000 }).toBe(last)

    const api = await gql<{ backtest: { summary: Summary; equityCurve: { values: number[] } } }>(
      token,
      'query($id: ID!) { backtest(id: $id) { summary { totalReturn maxDrawdown sharpe nTrades winRate } equityCurve(maxPoints: 240) { values } } }',
      { id: last },
    )
    const s = api.backtest.summary
    expect((await card.getByTestId('result-return').textContent())?.replace('Total return', '').trim()).toBe(signedPercent(s.totalReturn))
    expect(await card.getByTestId('result-max-drawdown').textContent()).toBe(pct(s.maxDrawdown))
    expect(await card.getByTestId('result-sharpe').textContent()).toBe(num(s.sharpe))
    expect(await card.getByTestId('result-trades').textContent()).toBe(String(s.nTrades))
    expect(await card.getByTestId('result-win-rate').textContent()).toBe(pct(s.winRate, 1))
    const spark = card.getByTestId('sparkline')
    expect(await spark.getAttribute('role')).toBe('img')
    expect(await spark.getAttribute('data-points')).toBe(String(api.backtest.equityCurve.values.length))
    expect(await spark.getAttribute('aria-label')).toContain(`to ${num(api.backtest.equityCurve.values.at(-1))}`)
    // the card opens the backtest
    await card.getByRole('link').click()
    await page.waitForURL((u) => u.pathname === `/backtests/${encodeURIComponent(last)}`)
  })
})
