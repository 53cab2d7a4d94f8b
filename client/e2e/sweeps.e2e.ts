// Sweeps end to end, against the real server: a new user sees the empty list; the start form
// counts the sets of a 3 × 4 grid and shows an estimate, a client-side problem and the API's
// per-user cap at their fields; the sweep waits (queued) behind a big sweep that holds the one
// job slot, which a second page cancels from its own sweep page; the first page then follows
// its sweep live to the end. The heatmap's 12 cells hold the API's values (as the page formats
// them, for two metrics); clicking a cell starts that set's backtest (whose page shows its
// parameters), and clicking it again opens the same backtest. axe and screenshots in both
// themes and both sizes.
import { describe, expect, test } from 'vitest'
import type { Page } from 'playwright-core'
import { checkA11y, goto, newPage, registerUser, screenshot as shoot, setTheme, signIn } from './support/browser'
import { createTwoParamStrategy, startSlotHolder, sweepGql, sweepLogin, sweepRows } from './support/sweeps'
import { metricInfo } from '../src/features/sweeps/heatmap'

const FAST = [10, 20, 30]

/** A screenshot from the top of the page (the form scrolls as it is filled). */
async function screenshot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0))
  await shoot(page, name)
}
const SLOW = [60, 80, 100, 120]

describe('sweeps', () => {
  test('run a 3 × 4 sweep, read its heatmap, open a cell as a backtest', async () => {
    const page = await newPage({ size: 'desktop' })
    const user = await registerUser(page)
    const token = await sweepLogin(user.email, user.password)

    // a first-time user: the empty list says what to do
    await goto(page, '/sweeps')
    await page.getByTestId('sweeps-empty').waitFor()
    await checkA11y(page, 'sweeps empty (light)')
    await screenshot(page, 'sweeps-empty')
    await setTheme(page, 'dark')
    await page.getByTestId('sweeps-empty').waitFor()
    await checkA11y(page, 'sweeps empty (dark)')
    await screenshot(page, 'sweeps-empty')
    await setTheme(page, 'light')

    const strategyId = await createTwoParamStrategy(token, 'Sweep SMA crossover')
    const holderStrategy = await createTwoParamStrategy(token, 'Slot holder')

    // the start form, preselected from the strategy; the declared ranges are the default
    await goto(page, `/sweeps/new?strategy=${encodeURIComponent(strategyId)}`)
    await page.getByTestId('coverage-bar').waitFor()
    await page.getByLabel('Exchange').selectOption('demo') // other tests may store more markets
    await expect.poll(() => page.getByLabel('Symbol').inputValue()).toBe('DEMO/USDT')
    await expect.poll(() => page.getByTestId('sweep-sets').textContent()).toBe('100')
    await page.getByLabel('fast start').fill('10')
    await page.getByLabel('fast stop').fill('30')
    await page.getByLabel('fast step').fill('10')
    await page.getByLabel('slow: How').selectOption('list')
    await page.getByLabel('slow values (commas or spaces)').fill('60, 80 100,120')
    await expect.poll(() => page.getByTestId('sweep-sets').textContent()).toBe('12')
    expect(await page.getByTestId('sweep-count-fast').textContent()).toContain('3 values')
    expect(await page.getByTestId('sweep-count-slow').textContent()).toContain('4 values')
    expect(await page.getByTestId('sweep-estimate').textContent()).toMatch(/^\d+ s$/)
    expect(await page.getByTestId('sweep-submit').textContent()).toContain('Run 12 sets')

    // a problem the form sees at once, at its field
    await page.getByLabel('fast step').fill('0')
    await expect.poll(() => page.locator('#err-param-fast').textContent()).toContain('step must be more than 0')
    // the API's per-user cap on sets (MAX_SWEEP_SETS, 100,000), at the count
    await page.getByLabel('fast start').fill('1')
    await page.getByLabel('fast stop').fill('1000')
    await page.getByLabel('fast step').fill('1')
    await page.getByLabel('slow values (commas or spaces)').fill(Array.from({ length: 200 }, (_, i) => i + 2).join(','))
    await expect.poll(() => page.getByTestId('sweep-sets').textContent()).toBe('200,000')
    await page.getByTestId('sweep-submit').click()
    await expect.poll(() => page.locator('#err-grid').textContent()).toContain('more than the 100,000')
    expect(page.url()).toContain('/sweeps/new')
    // back to the 3 × 4 grid
    await page.getByLabel('fast start').fill('10')
    await page.getByLabel('fast stop').fill('30')
    await page.getByLabel('fast step').fill('10')
    await page.getByLabel('slow values (commas or spaces)').fill('60, 80 100,120')
    await expect.poll(() => page.getByTestId('sweep-sets').textContent()).toBe('12')

    await checkA11y(page, 'new sweep (light)')
    await screenshot(page, 'sweep-new')

    // so that the page is open before the sweep runs, a big sweep holds the server's one job
    // slot (MAX_CONCURRENT_JOBS=1); our sweep waits queued behind it
    const holder = await startSlotHolder(token, holderStrategy)
    await page.getByTestId('sweep-submit').click()
    await page.waitForURL(/\/sweeps\/(?!new)[^/]+$/)
    const sweepId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!)
    await page.getByTestId('sweep-running').waitFor()
    await expect.poll(() => page.getByTestId('sweep-done').textContent()).toBe('0 of 12')
    await checkA11y(page, 'sweep queued (light)')
    await screenshot(page, 'sweep-running')
    await setTheme(page, 'dark')
    await page.getByTestId('sweep-running').waitFor()
    await checkA11y(page, 'sweep queued (dark)')
    await screenshot(page, 'sweep-running')

    // the new-sweep form in dark (another tab of the same user), then that tab cancels the
    // slot holder from its own page
    const other = await newPage({ size: 'desktop', colorScheme: 'dark' })
    await signIn(other, user.email, user.password)
    await setTheme(other, 'dark')
    await goto(other, `/sweeps/new?strategy=${encodeURIComponent(strategyId)}`)
    await other.getByTestId('coverage-bar').waitFor()
    await expect.poll(() => other.getByTestId('sweep-sets').textContent()).toBe('100')
    await checkA11y(other, 'new sweep (dark)')
    await screenshot(other, 'sweep-new')
    await goto(other, `/sweeps/${encodeURIComponent(holder)}`)
    await other.getByTestId('sweep-running').waitFor()
    // its live progress: parameter sets done of the whole grid, moving
    await expect.poll(() => other.getByTestId('sweep-done').textContent(), { timeout: 30_000 }).toMatch(/^[1-9][\d,]* of 100,000$/)
    await checkA11y(other, 'sweep running (dark)')
    await screenshot(other, 'sweep-progress')
    await other.getByTestId('sweep-cancel').click()
    await other.getByTestId('sweep-cancelled').waitFor({ timeout: 60_000 })
    expect(await other.getByTestId('sweep-status').textContent()).toContain('Cancelled')

    // the first page follows its sweep to the end, live
    await page.getByTestId('sweep-results').waitFor({ timeout: 120_000 })
    await expect.poll(() => page.getByTestId('sweep-status').textContent()).toContain('Succeeded')

    // the heatmap: 12 cells, each the API's Sharpe (the ranking metric) as the page formats it
    const cells = page.getByTestId('heat-cell')
    await expect.poll(() => cells.count(), { timeout: 30_000 }).toBe(12)
    const api = await sweepRows(token, sweepId, ['sharpe', 'totalReturn', 'maxDrawdown'])
    expect(api).toHaveLength(12)
    const check = async (metric: 'sharpe' | 'totalReturn'): Promise<void> => {
      const shown = await cells.evaluateAll((els) =>
        els.map((e) => ({ x: Number(e.getAttribute('data-x')), y: Number(e.getAttribute('data-y')), value: e.getAttribute('data-value'), text: e.textContent?.trim() ?? '' })),
      )
      expect(shown.map((c) => c.x).sort((a, b) => a - b)).toEqual([...FAST, ...FAST, ...FAST, ...FAST].sort((a, b) => a - b))
      expect([...new Set(shown.map((c) => c.y))].sort((a, b) => a - b)).toEqual(SLOW)
      for (const c of shown) {
        const row = api.find((r) => r.params.fast === c.x && r.params.slow === c.y)
        expect(row, `API row fast ${c.x} slow ${c.y}`).toBeDefined()
        const v = row!.metrics[metric] ?? null
        expect(c.text, `${metric} at fast ${c.x} slow ${c.y}`).toBe(metricInfo(metric).format(v))
        if (v === null) expect(c.value).toBe('')
        else expect(Number(c.value)).toBeCloseTo(v, 12)
      }
    }
    await check('sharpe')
    await page.getByLabel('Metric').selectOption('totalReturn')
    await expect.poll(() => cells.first().getAttribute('aria-label')).toContain('Total return')
    await check('totalReturn')
    expect(await page.getByTestId('heatmap-legend').isVisible()).toBe(true)
    // one tab stop; the arrow keys move between cells
    expect(await cells.evaluateAll((els) => els.filter((e) => e.getAttribute('tabindex') === '0').length)).toBe(1)
    await cells.first().focus()
    await page.keyboard.press('ArrowRight')
    await page.keyboard.press('ArrowDown')
    expect(await page.evaluate(() => [document.activeElement?.getAttribute('data-x'), document.activeElement?.getAttribute('data-y')])).toEqual(['20', '80'])
    // the scatter's points are named with their values
    const best = api.find((r) => r.rank === 1)!
    expect(await page.locator('[data-testid="scatter-point"][data-rank="1"]').getAttribute('aria-label')).toContain(`fast ${best.params.fast}, slow ${best.params.slow}`)
    expect(await page.getByTestId('scatter-point').count()).toBe(api.filter((r) => r.metrics.totalReturn !== null && r.metrics.maxDrawdown !== null).length)
    expect(await page.locator('[data-testid="sweep-rank-table"] tbody tr[data-rank]').count()).toBe(12)

    await checkA11y(page, 'sweep result (dark)')
    await screenshot(page, 'sweep-result')
    await setTheme(page, 'light')
    await expect.poll(() => cells.count(), { timeout: 30_000 }).toBe(12)
    await checkA11y(page, 'sweep result (light)')
    await screenshot(page, 'sweep-result')

    // a cell runs its set as a backtest: the backtest page shows its parameters
    const cell = page.locator('[data-testid="heat-cell"][data-x="20"][data-y="80"]')
    expect(await cell.getAttribute('aria-label')).toContain('run it as a backtest')
    await cell.click()
    await page.waitForURL(/\/backtests\/(?!new)[^/]+$/)
    const backtestId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!)
    const header = page.locator('main header')
    await expect.poll(() => header.textContent(), { timeout: 30_000 }).toContain('fast 20')
    expect(await header.textContent()).toContain('slow 80')
    const bt = await sweepGql<{ backtest: { params: Record<string, number>; strategyId: string; symbol: string; timeframe: string; from: string; to: string } }>(
      token,
      'query($id:ID!){backtest(id:$id){params strategyId symbol timeframe from to}}',
      { id: backtestId },
    )
    expect(bt.backtest.params).toEqual({ fast: 20, slow: 80 })
    expect(bt.backtest.strategyId).toBe(strategyId)
    expect(bt.backtest.symbol).toBe('DEMO/USDT')

    // back on the sweep, the same cell opens that backtest instead of running another
    await goto(page, `/sweeps/${encodeURIComponent(sweepId)}`)
    await expect.poll(() => page.locator('[data-testid="heat-cell"][data-x="20"][data-y="80"]').getAttribute('aria-label'), { timeout: 30_000 }).toContain('open its backtest')
    await page.locator('[data-testid="heat-cell"][data-x="20"][data-y="80"]').click()
    await page.waitForURL((u) => u.pathname === `/backtests/${encodeURIComponent(backtestId)}`)
    const count = await sweepGql<{ backtests: { totalCount: number } }>(token, 'query($s:ID){backtests(filter:{strategyId:$s}){totalCount}}', { s: strategyId })
    expect(count.backtests.totalCount).toBe(1)

    // a new sweep can start from a backtest: its strategy version, market, dates and capital
    await goto(page, `/sweeps/new?backtest=${encodeURIComponent(backtestId)}`)
    await page.getByTestId('coverage-bar').waitFor()
    await expect.poll(() => page.getByLabel('Strategy', { exact: true }).inputValue()).toBe('Sweep SMA crossover')
    await expect.poll(() => page.getByLabel('From (UTC, inclusive)').inputValue()).toBe(bt.backtest.from.slice(0, 10))
    await expect.poll(() => page.getByLabel('To (UTC, exclusive)').inputValue()).toBe(bt.backtest.to.slice(0, 10))
    await expect.poll(() => page.getByLabel('Initial capital').inputValue()).toBe('10000')
    await expect.poll(() => page.getByTestId('sweep-sets').textContent()).toBe('100')

    // the list: both sweeps, with their status
    await goto(page, '/sweeps')
    await expect.poll(() => page.getByTestId('sweeps-table').textContent()).toContain('Succeeded')
    expect(await page.getByTestId('sweeps-table').textContent()).toContain('Cancelled')
    await checkA11y(page, 'sweeps list (light)')
    await screenshot(page, 'sweeps')
    await setTheme(page, 'dark')
    await expect.poll(() => page.getByTestId('sweeps-table').textContent()).toContain('Succeeded')
    await checkA11y(page, 'sweeps list (dark)')
    await screenshot(page, 'sweeps')
  }, 300_000)
})
