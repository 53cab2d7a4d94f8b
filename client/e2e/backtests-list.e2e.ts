// The backtests list end to end against the real server: a first-time user's empty list; then
// 24 runs of two strategies (one failed) queued over plain HTTP. Every view is checked row for
// row against the API with the same filter, sort and page: the default order, keyset pages
// forward and back (a run added meanwhile does not shift page two), filters by status, strategy
// and creation day, sorts by Sharpe and drawdown, a link that reproduces a view, "no match".
// Then from a backtest's page: rerun with changes (the form prefilled, one parameter changed,
// run) and delete (confirmed; back to the list with a toast; gone from the API). axe and
// screenshots in both themes and both sizes.
import { describe, expect, test } from 'vitest'
import type { Page } from 'playwright-core'
import { checkA11y, goto, newPage, registerUser, screenshot, setTheme, signIn } from './support/browser'
import { api, apiListIds, apiLogin, apiRun, apiSettled, apiStrategy } from './support/backtestRuns'
import { num } from '../src/features/backtests/format'

/** The ids of the rows the list shows, once it shows `count` of them (and no longer loads). */
async function shownIds(page: Page, count: number): Promise<string[]> {
  const rows = page.locator('[data-testid="backtests-table"] tbody tr[data-id]')
  await expect.poll(() => rows.count()).toBe(count)
  await expect.poll(() => page.getByTestId('backtests-table').getAttribute('aria-busy')).toBe('false')
  return rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id')!))
}

async function expectRows(page: Page, want: string[]): Promise<void> {
  await expect.poll(async () => (await shownIds(page, want.length)).join(' '), { timeout: 15_000 }).toBe(want.join(' '))
}

function query(page: Page): URLSearchParams {
  return new URL(page.url()).searchParams
}

describe('backtests list', () => {
  test('filter, sort and page on the server; rerun and delete', async () => {
    const page = await newPage({ size: 'desktop' })
    const user = await registerUser(page)
    const token = await apiLogin(user.email, user.password)

    // a first-time user: what to do next
    await goto(page, '/backtests')
    await page.getByTestId('backtests-empty').waitFor()
    expect(await page.getByTestId('backtests-empty').textContent()).toContain('No backtest yet')
    await checkA11y(page, 'backtests (empty)')
    await screenshot(page, 'backtests-empty')

    // 21 runs of A, 2 of B and one of B that fails (no candles in 2010)
    const a = await apiStrategy(token, 'List A')
    const b = await apiStrategy(token, 'List B')
    const ids: string[] = []
    for (let fast = 5; fast < 26; fast++) ids.push(await apiRun(token, { strategyId: a, params: { fast, slow: 40 } }))
    ids.push(await apiRun(token, { strategyId: b, params: { fast: 8, slow: 30 } }))
    ids.push(await apiRun(token, { strategyId: b, params: { fast: 12, slow: 60 } }))
    const failed = await apiRun(token, { strategyId: b, from: '2010-01-01T00:00:00Z', to: '2010-02-01T00:00:00Z' })
    ids.push(failed)
    const statuses = await apiSettled(token, ids)
    expect(statuses.filter((s) => s === 'SUCCEEDED').length).toBe(23)
    expect(statuses.at(-1)).toBe('FAILED')

    // the default view: newest first, 20 a page, as the API pages it
    await goto(page, '/backtests')
    const first = await apiListIds(token, { first: 20 })
    expect(first.totalCount).toBe(24)
    await expectRows(page, first.ids)
    expect(await page.getByTestId('backtests-count').textContent()).toContain('24 backtests')
    expect(await page.getByTestId('page-prev').isDisabled()).toBe(true)

    // forward: the next keyset page; a run added meanwhile changes page one, not page two
    await page.getByTestId('page-next').click()
    const second = await apiListIds(token, { first: 20, after: first.endCursor })
    expect(second.ids.length).toBe(4)
    await expectRows(page, second.ids)
    expect(query(page).get('after')).toBe(first.endCursor)
    expect(await page.getByTestId('page-next').isDisabled()).toBe(true)
    const late = await apiRun(token, { strategyId: a, params: { fast: 30, slow: 40 } })
    await apiSettled(token, [late])
    await page.reload()
    await expectRows(page, second.ids)
    // back: the page before, which now starts with the new run's neighbour
    await page.getByTestId('page-prev').click()
    const back = await apiListIds(token, { last: 20, before: second.startCursor })
    await expectRows(page, back.ids)
    expect(back.ids).toEqual([...first.ids])
    expect(query(page).get('before')).toBe(second.startCursor)
    // the first page again (from the top): the new run leads
    await goto(page, '/backtests')
    await expectRows(page, (await apiListIds(token, { first: 20 })).ids)
    expect((await shownIds(page, 20))[0]).toBe(late)

    // filters: status
    await page.getByLabel('Status').selectOption('FAILED')
    await expect.poll(() => query(page).get('status')).toBe('failed')
    await expectRows(page, [failed])
    await page.getByLabel('Status').selectOption('SUCCEEDED')
    await expectRows(page, (await apiListIds(token, { first: 20, filter: { status: ['SUCCEEDED'] } })).ids)
    await page.getByTestId('clear-filters').click()
    await expect.poll(() => query(page).has('status')).toBe(false)

    // strategy (its version): B's three runs, newest first
    await page.getByLabel('Strategy', { exact: true }).selectOption('List B')
    await expect.poll(() => query(page).get('strategy')).toBe(b)
    const ofB = await apiListIds(token, { first: 20, filter: { strategyId: b } })
    expect(ofB.ids.length).toBe(3)
    await expectRows(page, ofB.ids)

    // sort by Sharpe (on the server), with B's filter kept; the Sharpe column as the API has it
    await page.getByLabel('Sort by').selectOption('sharpe:desc')
    await expect.poll(() => query(page).get('sort')).toBe('sharpe')
    const bySharpe = await apiListIds(token, { first: 20, filter: { strategyId: b }, sort: { field: 'SHARPE', direction: 'DESC' } })
    await expectRows(page, bySharpe.ids)
    const sharpe = await api<{ nodes: { summary: { sharpe: number | null } | null }[] }>(token, 'query($ids: [ID!]!) { nodes(ids: $ids) { ... on Backtest { summary { sharpe } } } }', { ids: bySharpe.ids })
    expect(await page.locator('[data-testid="backtests-table"] td[data-col="sharpe"]').allTextContents()).toEqual(sharpe.nodes.map((n) => num(n.summary?.sharpe)))

    // a link reproduces the view: all strategies, smallest drawdown first, page two
    await page.getByLabel('Strategy', { exact: true }).selectOption('')
    await page.getByLabel('Sort by').selectOption('drawdown:asc')
    const dd = await apiListIds(token, { first: 20, sort: { field: 'MAX_DRAWDOWN', direction: 'ASC' } })
    await expectRows(page, dd.ids)
    await page.getByTestId('page-next').click()
    const dd2 = await apiListIds(token, { first: 20, after: dd.endCursor, sort: { field: 'MAX_DRAWDOWN', direction: 'ASC' } })
    await expectRows(page, dd2.ids)
    const link = page.url()
    const other = await newPage({ size: 'desktop' })
    await signIn(other, user.email, user.password)
    await goto(other, new URL(link).pathname + new URL(link).search)
    await expectRows(other, dd2.ids)
    expect(await other.getByLabel('Sort by').inputValue()).toBe('drawdown:asc')
    await other.context().close()

    // created on a day with no run: "no match", with a way out
    await goto(page, '/backtests')
    await page.getByLabel('Created from').fill('2001-01-01')
    await page.getByLabel('Created until').fill('2001-01-02')
    await expect.poll(() => query(page).get('to')).toBe('2001-01-02')
    await page.getByTestId('backtests-no-match').waitFor()
    expect(await page.getByTestId('backtests-no-match').textContent()).toContain('No backtest matches these filters')
    await screenshot(page, 'backtests-no-match')
    await page.getByTestId('backtests-no-match').getByRole('button', { name: 'Clear filters' }).click()
    const today = new Date().toISOString().slice(0, 10)
    await page.getByLabel('Created from').fill(today)
    await page.getByLabel('Created until').fill(today)
    await expectRows(page, (await apiListIds(token, { first: 20, filter: { createdFrom: `${today}T00:00:00Z` } })).ids)

    // the list, in both themes
    await goto(page, '/backtests')
    await shownIds(page, 20)
    await page.locator(`tr[data-id="${late}"] [data-testid="select-backtest"]`).check()
    await checkA11y(page, 'backtests')
    await screenshot(page, 'backtests')
    await setTheme(page, 'dark')
    await shownIds(page, 20)
    await checkA11y(page, 'backtests (dark)')
    await screenshot(page, 'backtests')
    await setTheme(page, 'light')

    // rerun with changes: the form starts from the run (fast 7 of A, January 2024, capital 10000)
    const source = ids[2]! // fast 7
    await goto(page, `/backtests/${encodeURIComponent(source)}`)
    await page.getByTestId('backtest-results').waitFor()
    await page.getByTestId('backtest-rerun').click()
    await page.waitForURL(/\/backtests\/new\?/)
    await page.getByTestId('coverage-bar').waitFor()
    await expect.poll(() => page.getByLabel('From (UTC, inclusive)').inputValue()).toBe('2024-01-01')
    expect(await page.getByLabel('To (UTC, exclusive)').inputValue()).toBe('2024-02-01')
    expect(await page.getByLabel('Symbol').inputValue()).toBe('DEMO/USDT')
    expect(await page.getByLabel('Timeframe').inputValue()).toBe('1h')
    expect(await page.getByLabel('Initial capital').inputValue()).toBe('10000')
    await expect.poll(() => page.getByLabel('fast (default 10)').inputValue()).toBe('7')
    expect(await page.getByLabel('slow (default 50)').inputValue()).toBe('40')
    await page.getByLabel('fast (default 10)').fill('9')
    await page.getByTestId('backtest-submit').click()
    await page.waitForURL((u) => /^\/backtests\/(?!new)[^/]+$/.test(u.pathname))
    const rerun = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!)
    expect(rerun).not.toBe(source)
    await apiSettled(token, [rerun])
    const ran = await api<{ backtest: { params: Record<string, number>; from: string; to: string; strategyId: string; initialCapital: number } }>(
      token,
      'query($id: ID!) { backtest(id: $id) { params from to strategyId initialCapital } }',
      { id: rerun },
    )
    expect(ran.backtest.params).toEqual({ fast: 9, slow: 40 })
    expect(ran.backtest.strategyId).toBe(a)
    expect(ran.backtest.initialCapital).toBe(10000)
    expect(ran.backtest.from.slice(0, 10)).toBe('2024-01-01')
    expect(ran.backtest.to.slice(0, 10)).toBe('2024-02-01')

    // delete: asked first; Cancel keeps it
    await page.getByTestId('backtest-results').waitFor()
    await page.getByTestId('backtest-delete').click()
    const dialog = page.getByRole('alertdialog')
    await dialog.waitFor()
    await checkA11y(page, 'delete dialog')
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    await dialog.waitFor({ state: 'detached' })
    expect((await apiListIds(token, { first: 1 })).ids).toEqual([rerun])
    await page.getByTestId('backtest-delete').click()
    await page.getByRole('alertdialog').getByRole('button', { name: 'Delete backtest' }).click()
    await page.waitForURL((u) => u.pathname === '/backtests')
    await expect.poll(() => page.locator('[data-sonner-toast]').first().textContent()).toContain('Deleted the backtest of List A on DEMO/USDT')
    const after = await apiListIds(token, { first: 20 })
    expect(after.totalCount).toBe(25)
    expect(after.ids).not.toContain(rerun)
    await expectRows(page, after.ids)
  })
})
