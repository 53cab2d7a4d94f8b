// Admin pages end to end, against the real server: only an admin sees Users and roles and the
// Audit log in the navigation; the admin makes a user a viewer (after a confirmation), and that
// user then finds no way to run a backtest (the buttons give way to a hint, and the API itself
// answers FORBIDDEN); disabling asks first and shows in the list. The audit log lists the role
// change and the sign-ins, and its filters (action, user, outcome, dates) work and stay in the
// URL. axe and screenshots in both themes, both sizes.
import { describe, expect, inject, test } from 'vitest'
import type { Page } from 'playwright-core'
import { SIZES, USER, checkA11y, goto, newPage, registerUser, screenshot, setTheme, signIn } from './support/browser'
import { createSmaStrategy, gql, gqlRaw, login } from './support/api'

const ADMIN: { email: string; password: string } = inject('admin')

async function audit(page: Page, name: string): Promise<void> {
  for (const [size, viewport] of Object.entries(SIZES)) {
    await page.setViewportSize(viewport)
    await checkA11y(page, `${name} (${size})`)
  }
  await page.setViewportSize(SIZES.desktop)
  await screenshot(page, name)
}

async function bothThemes(page: Page, name: string, ready: () => Promise<unknown>): Promise<void> {
  await audit(page, name)
  await setTheme(page, 'dark')
  await ready()
  await audit(page, name)
  await setTheme(page, 'light')
  await ready()
}

function navLink(page: Page, name: string) {
  return page.getByRole('navigation').getByRole('link', { name, exact: true })
}

async function userRow(page: Page, email: string) {
  await page.getByTestId('user-search').fill(email)
  const row = page.locator(`[data-testid="user-row"][data-email="${email}"]`)
  await row.waitFor()
  await expect.poll(() => page.getByTestId('user-row').count()).toBe(1)
  return row
}

describe('admin', () => {
  test('only admins see the admin pages', async () => {
    const page = await newPage()
    await signIn(page, USER.email, USER.password) // a trader
    await navLink(page, 'Settings').waitFor()
    expect(await navLink(page, 'Users and roles').count()).toBe(0)
    expect(await navLink(page, 'Audit log').count()).toBe(0)
    await goto(page, '/admin/users')
    await page.getByTestId('admin-only').waitFor()
    // and the API refuses the data itself
    const token = await login(USER.email, USER.password)
    const refused = await gqlRaw(token, '{ users { totalCount } }')
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
  })

  test('make a user a viewer: they can no longer run a backtest; the audit log shows it', async () => {
    const userPage = await newPage()
    const user = await registerUser(userPage) // a trader, signed in
    await goto(userPage, '/backtests')
    await userPage.getByTestId('new-backtest').waitFor()

    const page = await newPage()
    await signIn(page, ADMIN.email, ADMIN.password)
    await navLink(page, 'Users and roles').click()
    await page.getByTestId('users-table').waitFor()
    expect(new URL(page.url()).pathname).toBe('/admin/users')

    // the admin's own row cannot be changed (no self-demotion)
    const mine = await userRow(page, ADMIN.email)
    expect(await mine.getByTestId('user-role').isDisabled()).toBe(true)
    expect(await mine.getByTestId('user-toggle-active').count()).toBe(0)

    // the search is in the URL; the row shows the trader
    const row = await userRow(page, user.email)
    expect(new URL(page.url()).searchParams.get('search')).toBe(user.email)
    expect(await row.getByTestId('user-role').inputValue()).toBe('TRADER')

    // Cancel keeps the role
    await row.getByTestId('user-role').selectOption('VIEWER')
    const dialog = page.getByRole('alertdialog')
    await dialog.waitFor()
    expect(await dialog.textContent()).toContain(`Make ${user.email} a viewer?`)
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    await dialog.waitFor({ state: 'detached' })
    await expect.poll(() => row.getByTestId('user-role').inputValue()).toBe('TRADER')

    // confirmed: the role changes
    await row.getByTestId('user-role').selectOption('VIEWER')
    await dialog.waitFor()
    await dialog.getByRole('button', { name: 'Make viewer' }).click()
    const toast = page.getByText(`${user.email} is now a viewer.`)
    await toast.waitFor()
    await expect.poll(() => row.getByTestId('user-role').inputValue()).toBe('VIEWER')
    // the toast goes away before the screenshots (so it hides no row in them)
    await expect.poll(() => page.locator('[data-sonner-toast]').count(), { timeout: 15_000 }).toBe(0)
    await bothThemes(page, 'admin-users', () => page.getByTestId('user-row').first().waitFor())

    // the viewer: no New backtest, a hint instead; the form is not offered either
    const viewer = await newPage()
    await signIn(viewer, user.email, user.password)
    await goto(viewer, '/backtests')
    await viewer.getByTestId('viewer-hint').waitFor()
    expect(await viewer.getByTestId('new-backtest').count()).toBe(0)
    await goto(viewer, '/backtests/new')
    await viewer.getByTestId('viewer-hint').waitFor()
    expect(await viewer.getByTestId('backtest-submit').count()).toBe(0)
    await goto(viewer, '/')
    await viewer.getByTestId('viewer-hint').waitFor()
    expect(await viewer.getByTestId('dashboard-new-backtest').count()).toBe(0)
    await audit(viewer, 'viewer-dashboard')
    // the API refuses the run outright, saying why
    const token = await login(user.email, user.password)
    const run = await gqlRaw(token, 'mutation { runBacktest(input: {strategyId: "1", symbol: "DEMO/USDT", timeframe: "1h", from: "2024-01-01T00:00:00Z", to: "2024-02-01T00:00:00Z"}) { __typename } }')
    expect(run.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
    expect(run.body.errors?.[0]?.message).toContain('viewer')

    // a failed sign-in of that user, for the outcome filter
    const failed = await gqlRaw(null, 'mutation($e:String!){login(input:{email:$e,password:"not-the-password"}){__typename}}', { e: user.email })
    expect((failed.body.data?.login as { __typename: string }).__typename).toBe('InvalidCredentials')

    // disable asks first, then shows; enable brings the account back
    await row.getByTestId('user-toggle-active').click()
    await dialog.waitFor()
    expect(await dialog.textContent()).toContain(`Disable ${user.email}?`)
    await dialog.getByRole('button', { name: 'Disable' }).click()
    await expect.poll(() => row.textContent()).toContain('Disabled')
    await row.getByTestId('user-toggle-active').click()
    await dialog.getByRole('button', { name: 'Enable' }).click()
    await expect.poll(() => row.textContent()).toContain('Active')

    // the audit log: the role change, by the admin, with its details; the sign-ins
    await navLink(page, 'Audit log').click()
    await page.getByTestId('audit-table').waitFor()
    const roleChange = page.locator('[data-testid="audit-row"][data-action="user.role_change"]').first()
    await roleChange.waitFor()
    expect(await roleChange.locator('[data-col="actor"]').textContent()).toBe(ADMIN.email)
    expect(await roleChange.textContent()).toContain('from: trader · to: viewer')
    expect(await page.locator('[data-testid="audit-row"][data-action="auth.login"]').count()).toBeGreaterThan(0)

    // filter by action: only role changes, and the filter is in the URL
    await page.getByTestId('audit-action').selectOption('user.role_change')
    await page.getByTestId('audit-apply').click()
    await page.waitForURL((u) => u.searchParams.get('action') === 'user.role_change')
    await expect.poll(async () => {
      const actions = await page.getByTestId('audit-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')))
      return actions.length > 0 && actions.every((a) => a === 'user.role_change')
    }).toBe(true)

    // by user and outcome: that user's failed sign-in only
    await page.getByTestId('audit-action').selectOption('')
    await page.getByTestId('audit-user').fill(user.email)
    await page.getByTestId('audit-outcome').selectOption('failed')
    await page.getByTestId('audit-apply').click()
    await page.waitForURL((u) => u.searchParams.get('outcome') === 'failed' && u.searchParams.get('action') === null)
    await expect.poll(() => page.getByTestId('audit-count').textContent()).toBe('1 entry matches')
    const only = page.getByTestId('audit-row')
    expect(await only.getAttribute('data-action')).toBe('auth.login_failed')
    expect(await only.locator('[data-col="actor"]').textContent()).toBe(user.email)

    // a reload keeps the filters (they are in the URL)
    await page.reload()
    await page.getByTestId('audit-table').waitFor()
    expect(await page.getByTestId('audit-user').inputValue()).toBe(user.email)
    expect(await page.getByTestId('audit-outcome').inputValue()).toBe('failed')
    await expect.poll(() => page.getByTestId('audit-count').textContent()).toBe('1 entry matches')

    // dates: reversed ones are refused in the form; a day long past matches nothing
    await page.getByTestId('audit-outcome').selectOption('')
    await page.getByTestId('audit-user').fill('')
    await page.getByTestId('audit-from').fill('2020-01-02')
    await page.getByTestId('audit-to').fill('2020-01-01')
    expect(await page.getByTestId('audit-apply').isDisabled()).toBe(true)
    await page.getByText('The first day is after the last one').waitFor()
    await page.getByTestId('audit-to').fill('2020-01-03')
    await page.getByTestId('audit-apply').click()
    await page.getByTestId('audit-empty').waitFor()
    expect(await page.getByTestId('audit-empty').textContent()).toContain('No entry matches')
    const today = new Date().toISOString().slice(0, 10)
    await page.getByTestId('audit-from').fill(today)
    await page.getByTestId('audit-to').fill(today)
    await page.getByTestId('audit-apply').click()
    await page.waitForURL((u) => u.searchParams.get('from') === today)
    await page.getByTestId('audit-row').first().waitFor()

    // paging (25 a page): more than a page of strategy deletions, Next, then Previous back
    const adminToken = await login(ADMIN.email, ADMIN.password)
    for (let i = 0; i < 26; i++) {
      const id = await createSmaStrategy(adminToken, `audit page ${i}`)
      await gql(adminToken, 'mutation($id: ID!) { deleteStrategy(id: $id) { __typename } }', { id })
    }
    await page.getByRole('button', { name: 'Clear' }).click()
    await page.waitForURL((u) => u.search === '')
    await page.getByTestId('audit-action').selectOption('strategy.delete')
    await page.getByTestId('audit-apply').click()
    await page.waitForURL((u) => u.searchParams.get('action') === 'strategy.delete')
    await expect.poll(() => page.getByTestId('audit-row').count()).toBe(25)
    const first = await page.getByTestId('audit-row').first().textContent()
    expect(first).toContain('audit page 25') // newest first
    await page.getByTestId('audit-next').click()
    await page.waitForURL((u) => u.searchParams.has('after') && u.searchParams.get('action') === 'strategy.delete')
    await expect.poll(() => page.getByTestId('audit-row').first().textContent()).toContain('audit page 0')
    expect(await page.getByTestId('audit-prev').isEnabled()).toBe(true)
    await page.getByTestId('audit-prev').click()
    await page.waitForURL((u) => u.searchParams.has('before'))
    await expect.poll(() => page.getByTestId('audit-row').first().textContent()).toBe(first)
    await bothThemes(page, 'admin-audit', () => page.getByTestId('audit-row').first().waitFor())
  })
})
