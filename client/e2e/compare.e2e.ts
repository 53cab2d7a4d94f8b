// Compare, end to end against the real server: three backtests of one strategy with different
// parameters and capital (queued over plain HTTP), selected in the list, compared; every cell of
// the metrics table equals the API's number as the page formats it, the best of each row is
// marked in the direction that is better for it (and nowhere else), both charts draw the three
// runs, and the differences name the parameters, settings and document fields that differ. axe and screenshots
// in both themes and both sizes.
import { describe, expect, test } from 'vitest'
import { checkA11y, goto, newPage, registerUser, screenshot, setTheme } from './support/browser'
import { api, apiLogin, apiRun, apiSettled, apiStrategy } from './support/backtestRuns'
import { COMPARE_METRICS } from '../src/features/compare/compare'

type Summary = Record<string, number | null>

// The direction of each metric, written out here rather than read from the page's code
const LOWER_IS_BETTER = new Set(['maxDrawdown', 'maxDrawdownDuration'])
const NO_DIRECTION = new Set(['nTrades', 'exposure', 'buyAndHoldReturn'])

function expectedBest(values: (number | null)[], key: string): boolean[] {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v))
  if (NO_DIRECTION.has(key) || finite.length < 2 || finite.every((v) => v === finite[0])) return values.map(() => false)
  const best = LOWER_IS_BETTER.has(key) ? Math.min(...finite) : Math.max(...finite)
  return values.map((v) => v === best)
}

describe('compare', () => {
  test('three backtests side by side match the API', async () => {
    const page = await newPage({ size: 'desktop' })
    const user = await registerUser(page)
    const token = await apiLogin(user.email, user.password)

    // with no choice, the page says how to choose
    await goto(page, '/backtests/compare')
    await page.getByTestId('compare-empty').waitFor()

    const strategy = await apiStrategy(token, 'Compare SMA')
    const ids = [
      await apiRun(token, { strategyId: strategy, params: { fast: 5, slow: 30 } }),
      await apiRun(token, { strategyId: strategy, params: { fast: 10, slow: 50 }, initialCapital: 5000 }),
      await apiRun(token, { strategyId: strategy, params: { fast: 20, slow: 60 } }),
    ]
    expect(await apiSettled(token, ids)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED'])

    // select them in the list, in this order, and open Compare
    await goto(page, '/backtests')
    for (const id of ids) await page.locator(`tr[data-id="${id}"] [data-testid="select-backtest"]`).check()
    await expect.poll(() => page.getByTestId('compare-bar').textContent()).toContain('3 selected')
    await page.getByTestId('compare-selected').click()
    await page.waitForURL(/\/backtests\/compare\?/)
    expect(new URL(page.url()).searchParams.get('ids')).toBe(ids.join(','))
    await page.getByTestId('compare-metrics').waitFor()

    // the API's numbers
    const fields = COMPARE_METRICS.map((m) => m.key).join(' ')
    const d = await api<{ nodes: { summary: Summary }[] }>(token, `query($ids: [ID!]!) { nodes(ids: $ids) { ... on Backtest { summary { ${fields} } } } }`, { ids })
    const summaries = d.nodes.map((n) => n.summary)

    // every cell, every mark
    const table = page.getByTestId('compare-metrics')
    expect(await table.locator('tbody tr').count()).toBe(COMPARE_METRICS.length)
    let marked = 0
    for (const metric of COMPARE_METRICS) {
      const row = table.locator(`tr[data-metric="${metric.key}"]`)
      const values = summaries.map((s) => s[metric.key] ?? null)
      const texts = await row.getByTestId('compare-value').allTextContents()
      expect(texts, metric.label).toEqual(values.map((v) => metric.format(v)))
      const best = await row.getByTestId('compare-cell').evaluateAll((cells) => cells.map((c) => c.getAttribute('data-best') === 'true'))
      const want = expectedBest(values, metric.key)
      expect(best, `best of ${metric.label}`).toEqual(want)
      // marked with a word, not colour alone
      expect(await row.getByTestId('compare-best').count()).toBe(want.filter(Boolean).length)
      marked += want.filter(Boolean).length
    }
    expect(marked).toBeGreaterThan(0)
    // the row says which way is better
    expect(await table.locator('tr[data-metric="maxDrawdown"] th').textContent()).toContain('lower is better')
    expect(await table.locator('tr[data-metric="sharpe"] th').textContent()).toContain('higher is better')

    // both charts draw the three runs
    const lines = (id: string) => page.evaluate((k) => window.__charts?.[k]?.().lines ?? 0, id)
    await expect.poll(() => lines('compare-equity')).toBe(3)
    await expect.poll(() => lines('compare-drawdowns')).toBe(3)

    // the differences: the parameters and the capital, not the market
    const params = page.getByTestId('diff-params')
    expect(await params.locator('[data-path="fast"] td').allTextContents()).toEqual(['5', '10', '20'])
    expect(await params.locator('[data-path="slow"] td').allTextContents()).toEqual(['30', '50', '60'])
    const settings = page.getByTestId('diff-settings')
    expect(await settings.locator('[data-path="Initial capital"] td').allTextContents()).toEqual(['10,000.00', '5,000.00', '10,000.00'])
    expect(await settings.locator('[data-path="Market"]').count()).toBe(0)
    // the documents as run: the same rules, the capital written into the one run with its own
    const documents = page.getByTestId('diff-strategy')
    expect(await documents.getByTestId('diff-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-path')))).toEqual(['initial_capital'])
    expect(await documents.locator('[data-path="initial_capital"] td').allTextContents()).toEqual(['10000', '5000', '10000'])

    await checkA11y(page, 'compare')
    await screenshot(page, 'compare')
    await setTheme(page, 'dark')
    await page.getByTestId('compare-metrics').waitFor()
    await expect.poll(() => lines('compare-equity')).toBe(3)
    await checkA11y(page, 'compare (dark)')
    await screenshot(page, 'compare')
  })
})
