// Transactions and replays end to end, against the real server: a fresh user sees the empty
// page; a file with a bad row is refused with that row and column named (and nothing stored);
// a good file dropped on the zone is imported; its fills are listed and filtered; it is
// replayed with a what-if (bar open, 10 bps fees, 5 bps slippage, a 1-bar delay) and the
// result page's overlay chart, attribution and per-fill table show the API's numbers; the
// import is deleted after a confirmation. A succeeded backtest's page opens the replay form on
// its trades; queued behind a long sweep, the replay shows its progress and is cancelled, then
// runs to the end. axe and screenshots of every state in both themes and both sizes.
import { describe, expect, test } from 'vitest'
import type { Page } from 'playwright-core'
import { checkA11y, goto, newPage, registerUser, screenshot, setTheme } from './support/browser'
import { GOOD_FILLS, backtestOnDemo, call, endJob, holdJobSlot, plainCsv, replayFromApi, tokenFor } from './support/replays'
import { dateTime, money, num, price } from '../src/features/backtests/format'

const BAD_CSV = plainCsv([GOOD_FILLS[0]!, { ...GOOD_FILLS[1]!, price: 'abc' }, GOOD_FILLS[2]!])
const GOOD_CSV = plainCsv(GOOD_FILLS)

async function chooseFile(page: Page, name: string, text: string): Promise<void> {
  await page.locator('#tx-file').setInputFiles({ name, mimeType: 'text/csv', buffer: Buffer.from(text) })
}

/** Drops a file on the upload zone as a browser would (dragenter, dragover, drop). */
async function dropFile(page: Page, name: string, text: string): Promise<void> {
  await page.getByTestId('tx-dropzone').evaluate(
    (el, f) => {
      const dt = new DataTransfer()
      dt.items.add(new File([f.text], f.name, { type: 'text/csv' }))
      for (const type of ['dragenter', 'dragover', 'drop']) el.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }))
    },
    { name, text },
  )
}

async function importsCount(token: string): Promise<number> {
  const d = await call<{ transactionImports: { totalCount: number } }>(token, '{ transactionImports(first: 1) { totalCount } }')
  return d.transactionImports.totalCount
}

async function uploadBadFile(page: Page): Promise<void> {
  await chooseFile(page, 'bad.csv', BAD_CSV)
  await page.locator('#tx-exchange').fill('demo')
  await page.getByTestId('tx-import').click()
  await page.getByTestId('tx-problems').waitFor()
}

describe('transactions and replays', () => {
  test('a bad row is named; a good file is imported, filtered and replayed with a 1-bar delay; the page shows the API’s numbers', async () => {
    const page = await newPage()
    const who = await registerUser(page)
    const token = await tokenFor(who.email, who.password)

    // a first-time user: the upload and an empty list that says what to do
    await goto(page, '/transactions')
    await expect.poll(() => page.locator('main h1').textContent()).toContain('Transactions and replays')
    await page.getByTestId('imports-empty').waitFor()
    await checkA11y(page, 'transactions: empty (light)')
    await screenshot(page, 'transactions-empty')

    // a bad price on row 3 (the header is row 1): named with its column, nothing stored
    await uploadBadFile(page)
    const problems = page.getByTestId('tx-problem')
    await expect.poll(() => problems.count()).toBe(1)
    const cells = await problems.first().locator('td').allTextContents()
    expect(cells[0]).toBe('Row 3')
    expect(cells[1]).toBe('price')
    expect(cells[2]!.length).toBeGreaterThan(3)
    await expect.poll(() => page.getByTestId('tx-problems').textContent()).toContain('nothing was stored')
    expect(await importsCount(token)).toBe(0)
    await checkA11y(page, 'transactions: refused file (light)')
    await screenshot(page, 'transactions-problems')

    // the good file, dropped on the zone
    await dropFile(page, 'fills.csv', GOOD_CSV)
    await expect.poll(() => page.getByTestId('tx-file-name').textContent()).toContain('fills.csv')
    await expect.poll(() => page.getByTestId('tx-problems').count()).toBe(0)
    await page.getByTestId('tx-import').click()
    await expect.poll(() => page.getByTestId('tx-imported').textContent()).toContain('6 new fills stored')
    const row = page.getByTestId('import-row')
    await expect.poll(() => row.count()).toBe(1)
    await expect.poll(() => row.first().textContent()).toContain('DEMO/USDT')
    expect(await importsCount(token)).toBe(1)
    await checkA11y(page, 'transactions: imported (light)')
    await screenshot(page, 'transactions-imported')

    // its fills, then only the sells
    await row.first().getByRole('button', { name: /^Fills/ }).click()
    await expect.poll(() => page.getByTestId('tx-import-filter').textContent()).toContain('fills.csv')
    await expect.poll(() => page.getByTestId('transaction-row').count()).toBe(6)
    await page.getByTestId('tx-filter-side').selectOption('SELL')
    await expect.poll(() => page.getByTestId('transaction-row').count()).toBe(3)
    expect(await page.getByTestId('transaction-row').first().textContent()).toContain('Sell')
    await page.locator('#tx-filter-from').fill('2023-01-05')
    await expect.poll(() => page.getByTestId('transaction-row').count()).toBe(2)
    await checkA11y(page, 'transactions: filtered (light)')
    await screenshot(page, 'transactions-list')

    // replay the import: a what-if with a 1-bar delay
    await page.getByTestId('tab-imports').click()
    await page.getByTestId('import-replay').first().click()
    await expect.poll(() => page.url()).toContain('tab=replays')
    await page.getByTestId('replays-empty').waitFor()
    expect(await page.locator('#replay-symbol').inputValue()).toBe('DEMO/USDT')
    expect(await page.getByTestId('replay-imports').textContent()).toContain('fills.csv')
    await page.locator('#replay-exchange').fill('demo')
    await page.getByTestId('replay-fill').selectOption('OPEN')
    await page.getByTestId('replay-custom-fee').check()
    await page.locator('#replay-fee').fill('10')
    await page.locator('#replay-slippage').fill('5')
    await page.locator('#replay-delay').fill('1')
    await checkA11y(page, 'transactions: replay form (light)')
    await screenshot(page, 'transactions-replay-form')
    await page.getByTestId('replay-run').click()
    await page.waitForURL(/\/replays\//)
    const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!)
    await expect.poll(() => page.getByTestId('replay-status').textContent(), { timeout: 30_000 }).toBe('Succeeded')
    await expect.poll(() => page.getByTestId('replay-what-if').textContent()).toContain('Bar open · fees 10 bps · slippage 5 bps · 1-bar delay')

    // the API's numbers
    const api = await replayFromApi(token, id)
    expect(api.status).toBe('SUCCEEDED')
    expect(api.delayBars).toBe(1)
    expect(api.totals.nFills).toBe(6)
    expect(api.fills.totalCount).toBe(6)
    // a 1-bar delay on 1h bars: every fill replayed an hour later
    for (const e of api.fills.edges) expect(Date.parse(e.node.replayTime!) - Date.parse(e.node.time)).toBe(3_600_000)

    // the overlay: both curves, point for point in count, ending on the API's last values
    const counts = () => page.evaluate(() => window.__charts?.['replay-overlay']?.() ?? null)
    await expect.poll(async () => (await counts())?.replayedPoints ?? 0).toBeGreaterThan(0)
    const c = (await counts())!
    expect(c.actualPoints).toBe(api.actualEquityCurve.times.length)
    expect(c.replayedPoints).toBe(api.equityCurve.times.length)
    expect(c.actualLast).toBeCloseTo(api.actualEquityCurve.values.at(-1)!, 6)
    expect(c.replayedLast).toBeCloseTo(api.equityCurve.values.at(-1)!, 6)
    expect(await page.getByTestId('overlay-actual-last').textContent()).toBe(num(api.actualEquityCurve.values.at(-1)))
    expect(await page.getByTestId('overlay-replayed-last').textContent()).toBe(num(api.equityCurve.values.at(-1)))

    // the attribution, as the API gives it
    const attribution = page.getByTestId('replay-attribution')
    const valueOf = async (key: string) => Number(await attribution.locator(`tr[data-key="${key}"]`).getAttribute('data-value'))
    expect(await valueOf('prices')).toBeCloseTo(api.totals.slippage, 9)
    expect(await valueOf('fees')).toBeCloseTo(api.totals.feeAttribution, 9)
    expect(await valueOf('total')).toBeCloseTo(api.totals.pnlDifference, 9)
    expect(await attribution.locator('tr[data-key="total"] td').first().textContent()).toBe(money(api.totals.pnlDifference))

    // the per-fill table, row for row
    const fills = page.getByTestId('replay-fill')
    await expect.poll(() => fills.count()).toBe(api.fills.edges.length)
    for (const [i, e] of api.fills.edges.entries()) {
      const r = fills.nth(i)
      const f = e.node
      expect(await r.getAttribute('data-seq')).toBe(String(f.seq))
      expect(await r.locator('[data-col="price"]').textContent()).toBe(price(f.price))
      expect(await r.locator('[data-col="replayTime"]').textContent()).toBe(dateTime(f.replayTime))
      expect(await r.locator('[data-col="replayPrice"]').textContent()).toBe(price(f.replayPrice))
      expect(await r.locator('[data-col="slippage"]').textContent()).toBe(money(f.slippage))
      expect(await r.locator('[data-col="feeAttribution"]').textContent()).toBe(money(f.feeAttribution))
      expect(await r.locator('[data-col="realizedPnl"]').textContent()).toBe(money(f.realizedPnl))
    }
    await checkA11y(page, 'replay result (light)')
    await screenshot(page, 'replay-result')

    // the list of replays
    await goto(page, '/transactions?tab=replays')
    await expect.poll(() => page.getByTestId('replay-row').count()).toBe(1)
    expect(await page.getByTestId('replay-row').first().textContent()).toContain(money(api.totals.pnlDifference))

    // dark theme: every state again
    await setTheme(page, 'dark')
    await page.getByTestId('replay-row').first().waitFor()
    await checkA11y(page, 'replays (dark)')
    await screenshot(page, 'transactions-replay-form')
    await page.getByTestId('tab-transactions').click()
    await expect.poll(() => page.getByTestId('transaction-row').count()).toBe(6)
    await checkA11y(page, 'transactions (dark)')
    await screenshot(page, 'transactions-list')
    await page.getByTestId('tab-imports').click()
    await expect.poll(() => page.getByTestId('import-row').count()).toBe(1)
    await checkA11y(page, 'imports (dark)')
    await screenshot(page, 'transactions-imported')
    await uploadBadFile(page)
    await checkA11y(page, 'refused file (dark)')
    await screenshot(page, 'transactions-problems')
    await goto(page, `/replays/${encodeURIComponent(id)}`)
    await page.getByTestId('replay-fill').first().waitFor()
    await expect.poll(async () => (await counts())?.replayedPoints ?? 0).toBe(api.equityCurve.times.length)
    await checkA11y(page, 'replay result (dark)')
    await screenshot(page, 'replay-result')

    // delete the import after confirming: its transactions go, the replay stays
    await goto(page, '/transactions')
    await page.getByTestId('import-delete').first().click()
    const dialog = page.getByRole('alertdialog')
    await expect.poll(() => dialog.textContent()).toContain('Delete fills.csv?')
    await checkA11y(page, 'delete an import (dark)')
    await screenshot(page, 'transactions-delete')
    await dialog.getByRole('button', { name: 'Delete' }).click()
    await page.getByTestId('imports-empty').waitFor()
    expect(await importsCount(token)).toBe(0)
    const left = await call<{ transactions: { totalCount: number }; replays: { totalCount: number } }>(
      token,
      '{ transactions(first: 1) { totalCount } replays(first: 1) { totalCount } }',
    )
    expect(left).toEqual({ transactions: { totalCount: 0 }, replays: { totalCount: 1 } })
  }, 180_000) // every state in two themes and two sizes, on a shared machine

  test('a succeeded backtest’s page opens the replay form; waiting, it shows progress and is cancelled; an empty page in dark', async () => {
    const page = await newPage({ colorScheme: 'dark' })
    const who = await registerUser(page)
    const token = await tokenFor(who.email, who.password)
    await setTheme(page, 'dark')
    await goto(page, '/transactions')
    await page.getByTestId('imports-empty').waitFor()
    await checkA11y(page, 'transactions: empty (dark)')
    await screenshot(page, 'transactions-empty')

    const backtestId = await backtestOnDemo(token)
    await goto(page, `/backtests/${encodeURIComponent(backtestId)}`)
    await page.getByTestId('backtest-replay').click()
    await page.waitForURL(/\/transactions\?/)
    expect(new URL(page.url()).searchParams.get('backtest')).toBe(backtestId)
    await expect.poll(() => page.getByTestId('replay-backtest').textContent()).toContain('Replay source')
    expect(await page.getByLabel("A backtest's trades").isChecked()).toBe(true)
    await checkA11y(page, 'replay form of a backtest (dark)')
    await screenshot(page, 'transactions-replay-backtest')

    // queued behind a long sweep: its live progress, then cancelled
    const holder = await holdJobSlot(token)
    try {
      await page.locator('#replay-delay').fill('1')
      await page.getByTestId('replay-run').click()
      await page.waitForURL(/\/replays\//)
      await page.getByTestId('replay-running').waitFor()
      expect(await page.getByTestId('replay-percent').textContent()).toBe('0 %')
      await checkA11y(page, 'replay waiting (dark)')
      await screenshot(page, 'replay-running')
      await page.getByTestId('replay-cancel').click()
      await expect.poll(() => page.getByTestId('replay-status').textContent(), { timeout: 30_000 }).toBe('Cancelled')
      await checkA11y(page, 'replay cancelled (dark)')
      await screenshot(page, 'replay-cancelled')
    } finally {
      await endJob(token, holder)
    }

    // the same form again, with the slot free: it runs to the end
    await page.goBack()
    await expect.poll(() => page.getByTestId('replay-backtest').textContent()).toContain('Replay source')
    await page.locator('#replay-delay').fill('1')
    await page.getByTestId('replay-run').click()
    await page.waitForURL(/\/replays\//)
    await expect.poll(() => page.getByTestId('replay-status').textContent(), { timeout: 30_000 }).toBe('Succeeded')
    const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!)
    const api = await replayFromApi(token, id)
    await expect.poll(() => page.getByTestId('replay-fill').count()).toBe(Math.min(25, api.fills.totalCount))
    const c = await page.evaluate(() => window.__charts?.['replay-overlay']?.() ?? null)
    expect(c?.replayedPoints).toBe(api.equityCurve.times.length)
    expect(await page.locator('main').textContent()).toContain('a backtest’s trades')
  }, 120_000)
})
