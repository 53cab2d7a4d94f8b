// Exchange keys and "Import from Binance" end to end, against the real server and the fake
// Binance it signs its requests to (tests/tasks/fake_binance_account.py checks the key, the
// HMAC-SHA256 signature and the timestamp as Binance does). A fresh user: the Transactions page
// links to Settings → Exchange keys; a key is added (the page shows its mask only, never the key
// or the secret), tested (ok), a key with a wrong secret is added and its test says clearly why
// it fails; the fills of two symbols over two days are imported from Binance with live
// progress, and they are the transactions table's rows, as the fake served them; the keys are
// deleted after a confirmation. axe and screenshots of each state, both themes, both sizes.
import { describe, expect, test } from 'vitest'
import type { Page } from 'playwright-core'
import { SIZES, checkA11y, goto, newPage, registerUser, screenshot, setTheme } from './support/browser'
import { gql, login } from './support/api'
import { dateTime } from '../src/features/backtests/format'
import { E2E_ACCOUNT, e2eAccountTrades, ensureE2eAccount, fakeSignedCount } from './support/exchangeKeys'

async function audit(page: Page, name: string): Promise<void> {
  for (const [size, viewport] of Object.entries(SIZES)) {
    await page.setViewportSize(viewport)
    await checkA11y(page, `${name} (${size})`)
  }
  await page.setViewportSize(SIZES.desktop)
  await screenshot(page, name)
}

async function addKey(page: Page, label: string, apiKey: string, apiSecret: string): Promise<void> {
  await page.locator('#key-label').fill(label)
  await page.locator('#key-api-key').fill(apiKey)
  await page.locator('#key-api-secret').fill(apiSecret)
  await page.getByTestId('add-exchange-key').click()
  await expect.poll(() => page.getByTestId('exchange-key-added').textContent()).toContain(label)
}

function keyRow(page: Page, label: string) {
  return page.locator(`[data-testid="exchange-key-row"][data-label="${label}"]`)
}

describe('exchange keys', () => {
  test('add, test (ok and a clear failure), import trades from Binance into the transactions table, delete', async () => {
    await ensureE2eAccount()
    const page = await newPage()
    const who = await registerUser(page)
    const token = await login(who.email, who.password)
    const mask = `••••${E2E_ACCOUNT.apiKey.slice(-4)}`

    // no key yet: the Transactions page says where to add one
    await goto(page, '/transactions')
    const noKeys = page.getByTestId('exchange-import-no-keys')
    await noKeys.waitFor()
    await audit(page, 'exchange-import-no-keys')
    await noKeys.getByRole('link', { name: /Settings → Exchange keys/ }).click()
    await page.waitForURL(/\/settings#exchange-keys$/)
    await page.getByTestId('exchange-keys-empty').waitFor()
    // the page opened at the section: its heading is on screen, below the sticky header
    const headingIn = () => page.locator('#exchange-keys-heading').evaluate((el) => {
      const top = el.getBoundingClientRect().top
      return top >= 56 && top < window.innerHeight - 40
    })
    await expect.poll(headingIn).toBe(true)
    expect(await page.evaluate(() => window.scrollY)).toBeGreaterThan(0)

    // the secret is a password field; a key is shown by its mask only
    expect(await page.locator('#key-api-secret').getAttribute('type')).toBe('password')
    await addKey(page, 'Main account', E2E_ACCOUNT.apiKey, E2E_ACCOUNT.apiSecret)
    const main = keyRow(page, 'Main account')
    await expect.poll(() => main.getByTestId('exchange-key-mask').textContent()).toBe(mask)
    expect(await page.locator('#key-api-secret').inputValue()).toBe('')
    expect(await page.locator('#key-api-key').inputValue()).toBe('')
    const html = await page.content()
    expect(html).not.toContain(E2E_ACCOUNT.apiSecret)
    expect(html).not.toContain(E2E_ACCOUNT.apiKey)
    expect(await main.getByTestId('exchange-key-used').textContent()).toBe('Never')

    // test it: the fake checked the signature and answered
    const signedBefore = await fakeSignedCount()
    await main.getByTestId('test-exchange-key').click()
    const mainTest = main.getByTestId('exchange-key-test')
    await expect.poll(() => mainTest.getAttribute('data-tone')).toBe('success')
    expect(await mainTest.textContent()).toMatch(/^Connection works\. Connected/)
    expect(await fakeSignedCount()).toBeGreaterThan(signedBefore)
    await expect.poll(() => main.getByTestId('exchange-key-used').textContent()).not.toBe('Never')

    // the same key with a wrong secret: stored (the exchange is only asked by a test), and its
    // test fails with the reason and what to do
    await addKey(page, 'Wrong secret', E2E_ACCOUNT.apiKey, 'not-the-secret-0000')
    const wrong = keyRow(page, 'Wrong secret')
    await wrong.getByTestId('test-exchange-key').click()
    const wrongTest = wrong.getByTestId('exchange-key-test')
    await expect.poll(() => wrongTest.getAttribute('data-tone')).toBe('error')
    const failure = (await wrongTest.textContent()) ?? ''
    expect(failure).toMatch(/^Connection failed\. Binance refused the API key/)
    expect(failure).toMatch(/Signature for this request is not valid/)
    expect(failure).not.toContain('signature=')
    await audit(page, 'exchange-keys')

    // import two symbols over two days from Binance
    await goto(page, '/transactions')
    await page.getByTestId('exchange-import-open').click()
    await page.locator('#ex-key').selectOption({ label: `Main account (Binance ${mask})` })
    await page.locator('#ex-symbols').fill('btc/usdt, ETH/USDT')
    await page.locator('#ex-from').fill(E2E_ACCOUNT.from)
    await page.locator('#ex-to').fill(E2E_ACCOUNT.to)
    await page.locator('#ex-name').fill('Binance e2e')
    await audit(page, 'exchange-import-form')
    await page.getByTestId('ex-import-start').click()
    const job = page.getByTestId('exchange-import-job')
    await job.waitFor()
    await expect.poll(() => job.getAttribute('data-status'), { timeout: 30_000 }).toBe('SUCCEEDED')
    const served = e2eAccountTrades()
    await expect.poll(() => page.getByTestId('exchange-import-fetched').textContent()).toBe(`${served.length} trades fetched`)
    await expect.poll(() => page.getByTestId('exchange-import-percent').textContent()).toBe('100 %')
    expect(await page.getByTestId('exchange-import-done').textContent()).toContain(`Binance e2e: ${served.length} new fills stored`)
    // the new import is listed
    await expect.poll(() => page.getByTestId('import-row').count()).toBe(1)
    expect(await page.getByTestId('import-row').first().textContent()).toContain('Binance e2e')
    await audit(page, 'exchange-import-done')

    // its fills are the transactions table's rows, as the fake served them
    await page.getByTestId('exchange-import-show').click()
    await expect.poll(() => page.getByTestId('tx-import-filter').textContent()).toContain('Binance e2e')
    await expect.poll(() => page.getByTestId('transaction-row').count()).toBe(served.length)
    // time, symbol, side (the fake alternates buy and sell from id 1) and trade id, row for row
    const shown = await page.getByTestId('transaction-row').evaluateAll((trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? '')),
    )
    const key = (time: string, symbol: string, side: string, id: string): string => `${time} ${symbol} ${side} ${id}`
    const got = shown.map((c) => key(c[0]!, c[1]!.split(' ')[0]!, c[2]!, c[6]!)).sort()
    const want = served.map((t) => key(dateTime(new Date(t.time).toISOString()), t.symbol.replace('USDT', '/USDT'), t.id % 2 === 1 ? 'Buy' : 'Sell', String(t.id))).sort()
    expect(got).toEqual(want)
    expect(shown.every((c) => c[1]!.includes('binance'))).toBe(true)
    const api = await gql<{ transactions: { totalCount: number } }>(token, '{ transactions(first: 1) { totalCount } }')
    expect(api.transactions.totalCount).toBe(served.length)
    await audit(page, 'exchange-import-fills')

    // dark theme
    await setTheme(page, 'dark')
    await page.getByTestId('transaction-row').first().waitFor()
    await audit(page, 'exchange-import-fills')
    await page.getByTestId('tab-imports').click()
    await page.getByTestId('import-row').first().waitFor()
    await page.getByTestId('exchange-import-open').click()
    await audit(page, 'exchange-import-form')
    await goto(page, '/settings#exchange-keys')
    await keyRow(page, 'Wrong secret').getByTestId('test-exchange-key').click()
    await expect.poll(() => keyRow(page, 'Wrong secret').getByTestId('exchange-key-test').getAttribute('data-tone')).toBe('error')
    await audit(page, 'exchange-keys')

    // delete both after confirming; the import made with one stays
    for (const label of ['Wrong secret', 'Main account']) {
      await keyRow(page, label).getByTestId('delete-exchange-key').click()
      const dialog = page.getByRole('alertdialog')
      await expect.poll(() => dialog.textContent()).toContain(`Delete “${label}”?`)
      if (label === 'Main account') await audit(page, 'exchange-key-delete')
      await dialog.getByRole('button', { name: 'Delete key' }).click()
      await expect.poll(() => keyRow(page, label).count()).toBe(0)
    }
    await page.getByTestId('exchange-keys-empty').waitFor()
    const left = await gql<{ exchangeKeys: unknown[]; transactionImports: { totalCount: number } }>(
      token,
      '{ exchangeKeys { id } transactionImports(first: 1) { totalCount } }',
    )
    expect(left.exchangeKeys).toEqual([])
    expect(left.transactionImports.totalCount).toBe(1)

    // without keys again, the Transactions page links to Settings (dark)
    await goto(page, '/transactions')
    await page.getByTestId('exchange-import-no-keys').waitFor()
    await audit(page, 'exchange-import-no-keys')
  })
})
