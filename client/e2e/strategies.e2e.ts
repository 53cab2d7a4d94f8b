import { describe, expect, test } from 'vitest'
import { checkA11y, goto, newPage, registerUser, screenshot, setTheme } from './support/browser'
import { fillSmaCrossover, saveStrategy } from './support/strategies'

const top = (page: import('playwright-core').Page) => page.evaluate(() => window.scrollTo(0, 0))
const summary = (page: import('playwright-core').Page) => page.getByTestId('strategy-summary').innerText()

describe('strategies', () => {
  test('build an SMA crossover in the builder; the server error shows at its field; save; versions', async () => {
    const page = await newPage({ size: 'desktop' })
    await registerUser(page)

    // a first-time user sees the empty state
    await goto(page, '/strategies')
    await page.getByTestId('strategies-empty').waitFor()
    await checkA11y(page, 'strategies (empty)')
    await top(page)
    await screenshot(page, 'strategies-empty')

    await page.getByTestId('new-strategy').click()
    await page.waitForURL((u) => u.pathname === '/strategies/new')
    await page.getByTestId('field-name').waitFor()
    // slow period 0: beyond the schema's bound (minimum 1)
    await fillSmaCrossover(page, { fast: 10, slow: 0 })
    await expect.poll(() => summary(page)).toContain('Enter long when SMA(10) crosses above SMA(0).')

    await page.getByTestId('save-strategy').click()
    const err = page.getByTestId('field-entry.right.period')
    await expect.poll(() => err.getAttribute('aria-invalid')).toBe('true')
    const errorText = await page.locator('[data-testid="operand-entry.right"] [data-testid="field-error"]').innerText()
    expect(errorText).toMatch(/integer >= 1/)
    expect(new URL(page.url()).pathname).toBe('/strategies/new')
    await checkA11y(page, 'strategy editor with problems')
    await top(page)
    await screenshot(page, 'strategy-problems')

    // fix both periods, save
    await err.fill('50')
    await page.getByTestId('field-exit.right.period').fill('50')
    const id = await saveStrategy(page)
    expect(id).toBeTruthy()
    await expect.poll(() => summary(page)).toContain('Enter long when SMA(10) crosses above SMA(50).')
    expect(await summary(page)).toContain('Exit when SMA(10) crosses below SMA(50).')
    expect(await page.getByTestId('field-error').count()).toBe(0)
    const href = new URL((await page.getByTestId('backtest-this').getAttribute('href'))!, 'http://x')
    expect([href.pathname, href.searchParams.get('strategy')]).toEqual(['/backtests/new', id])
    await checkA11y(page, 'strategy editor (light)')
    await top(page)
    await screenshot(page, 'strategy-editor')

    // a second version: add an AND condition to the entry by keyboard, save, diff
    await page.getByTestId('add-entry').focus()
    await page.keyboard.press('Enter')
    await page.getByTestId('node-entry.all[1]').waitFor()
    await page.getByTestId('kind-entry.all[1].left').selectOption('price:close')
    await page.getByTestId('field-entry.all[1].op').selectOption('>')
    await page.getByTestId('kind-entry.all[1].right').selectOption('indicator:ema')
    await page.getByTestId('field-entry.all[1].right.period').fill('200')
    // move it up and back down with the keyboard
    const up = page.locator('[data-testid="node-entry.all[1]"] > header [data-action="up"]')
    await up.focus()
    await page.keyboard.press('Enter')
    await page.getByTestId('node-entry.all[0]').locator('[data-testid="kind-entry.all[0].right"]').waitFor()
    expect(await page.getByTestId('kind-entry.all[0].right').inputValue()).toBe('indicator:ema')
    const focused = await page.evaluate(() => document.activeElement?.getAttribute('data-action'))
    expect(focused).toBe('down') // focus followed the moved condition
    await page.keyboard.press('Enter')
    await expect.poll(() => page.getByTestId('kind-entry.all[1].right').inputValue()).toBe('indicator:ema')
    await expect.poll(() => summary(page)).toContain('Enter long when SMA(10) crosses above SMA(50) and the close is above EMA(200).')
    const id2 = await saveStrategy(page)
    expect(id2).not.toBe(id)

    // leaving with changes not saved asks first: Cancel stays, "Leave without saving" leaves
    await page.getByTestId('field-name').fill('SMA crossover draft')
    const backtestsLink = page.getByRole('link', { name: 'Backtests', exact: true })
    await backtestsLink.click()
    const leave = page.getByRole('alertdialog', { name: 'Leave without saving?' })
    await leave.waitFor()
    await checkA11y(page, 'leave without saving')
    await leave.getByRole('button', { name: 'Cancel' }).click()
    await leave.waitFor({ state: 'detached' })
    expect(new URL(page.url()).pathname).toBe(`/strategies/${id2}`)
    expect(await page.getByTestId('field-name').inputValue()).toBe('SMA crossover draft')
    await backtestsLink.click()
    await leave.getByRole('button', { name: 'Leave without saving' }).click()
    await page.waitForURL((u) => u.pathname === '/backtests')
    await page.goBack()
    await expect.poll(() => page.getByTestId('field-name').inputValue()).toBe('SMA crossover')

    // a condition moves into the group above it and out again, by keyboard
    await page.getByTestId('add-group-entry').click() // an OR group at entry.all[2]
    await page.locator('[data-testid="node-entry.all[2]"] > header [data-action="up"]').click()
    await expect.poll(() => page.getByTestId('kind-entry.all[2].right').inputValue()).toBe('indicator:ema')
    await page.locator('[data-testid="node-entry.all[2]"] > header [data-action="indent"]').focus()
    await page.keyboard.press('Enter')
    await expect.poll(() => page.getByTestId('kind-entry.all[1].any[1].right').inputValue()).toBe('indicator:ema')
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-action'))).toBe('outdent')
    await page.keyboard.press('Enter')
    await expect.poll(() => page.getByTestId('kind-entry.all[2].right').inputValue()).toBe('indicator:ema')
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-action'))).toBe('indent')

    await page.getByTestId('tab-versions').click()
    await expect.poll(() => page.getByTestId('diff-stats').innerText()).toMatch(/added/)
    expect(await page.getByTestId('diff').innerText()).toContain('"ema"')
    await checkA11y(page, 'strategy versions')
    await top(page)
    await screenshot(page, 'strategy-versions')

    // the JSON tab: in sync with the builder; invalid JSON does not clobber the builder
    await page.getByTestId('tab-json').click()
    const editor = page.locator('[data-testid="json-editor"] .cm-content')
    await editor.waitFor()
    expect(await editor.innerText()).toContain('"crosses_above"')
    await editor.click()
    await page.keyboard.press('Control+End')
    await page.keyboard.type('oops')
    await page.getByTestId('json-error').waitFor()
    await page.getByTestId('tab-builder').click()
    expect(await page.getByTestId('field-entry.all[0].left.period').inputValue()).toBe('10')

    // dark theme
    await setTheme(page, 'dark')
    await page.getByTestId('field-name').waitFor()
    await checkA11y(page, 'strategy editor (dark)')
    await top(page)
    await screenshot(page, 'strategy-editor')

    // the list: versions, search, delete
    await goto(page, '/strategies')
    await page.getByTestId('strategy-SMA crossover').waitFor()
    await checkA11y(page, 'strategies (dark)')
    await top(page)
    await screenshot(page, 'strategies')
    await page.getByTestId('strategy-search').fill('nothing like it')
    await page.getByText('No strategy matches').waitFor()
    await page.getByTestId('strategy-search').fill('sma')
    await page.getByTestId('strategy-SMA crossover').waitFor()
    await page.getByTestId('delete-SMA crossover').click()
    await page.getByRole('alertdialog').waitFor()
    await checkA11y(page, 'delete dialog')
    await page.getByRole('button', { name: 'Delete', exact: true }).click()
    await page.getByTestId('strategy-SMA crossover').waitFor({ state: 'detached' })
  })

  test('new from template, at phone size', async () => {
    const page = await newPage({ size: 'phone' })
    await registerUser(page)
    await goto(page, '/strategies')
    await page.getByTestId('template-select').selectOption('donchian_short')
    await page.getByTestId('use-template').click()
    await page.waitForURL((u) => u.searchParams.get('template') === 'donchian_short')
    await expect.poll(() => summary(page)).toContain('Enter short when the close is below Donchian lower')
    await page.getByTestId('node-entry.all[1]').waitFor()
    await checkA11y(page, 'template (phone)')
    await top(page)
    await screenshot(page, 'strategy-template')
    await saveStrategy(page)
  })
})
