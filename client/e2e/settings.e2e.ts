// Settings end to end, against the real server: change the password (a wrong current password
// is named at its field, a too short new one at its own; then success, and the new password
// signs in while the old one no longer does), and personal access tokens (the Tokens
// test): create one in the page, read it from the page, use it with plain HTTP, revoke it in
// the page and see the same request refused. axe and screenshots in both themes, both sizes.
import { describe, expect, test } from 'vitest'
import type { Page } from 'playwright-core'
import { BASE_URL, SIZES, checkA11y, goto, newPage, registerUser, screenshot, setTheme, signIn } from './support/browser'
import { gql, gqlRaw, login } from './support/api'

async function audit(page: Page, name: string): Promise<void> {
  for (const [size, viewport] of Object.entries(SIZES)) {
    await page.setViewportSize(viewport)
    await checkA11y(page, `${name} (${size})`)
  }
  await page.setViewportSize(SIZES.desktop)
  await screenshot(page, name)
}

/** `me` over plain HTTP with a bearer token: the email, or the refusal's code and status. */
async function meWith(token: string): Promise<{ email?: string; code?: string; status: number }> {
  const { status, body } = await gqlRaw(token, '{ me { email } }')
  const me = body.data?.me as { email?: string } | undefined
  return { email: me?.email, code: body.errors?.[0]?.extensions?.code, status }
}

describe('settings', () => {
  test('change the password: errors at their fields, then success, then sign in with the new one', async () => {
    const page = await newPage()
    const user = await registerUser(page)
    await goto(page, '/settings')
    await page.getByTestId('profile-email').waitFor()
    expect(await page.getByTestId('profile-email').textContent()).toBe(user.email)

    // the wrong current password: said at that field, and the field is marked invalid
    await page.getByLabel('Current password').fill('not-my-password')
    await page.getByLabel('New password', { exact: true }).fill('a-brand-new-password')
    await page.getByLabel('Repeat the new password').fill('a-brand-new-password')
    await page.getByTestId('change-password').click()
    await expect.poll(() => page.locator('#current-password-error').textContent()).toContain('current password is wrong')
    expect(await page.getByLabel('Current password').getAttribute('aria-invalid')).toBe('true')

    // a new password the API refuses: at the new password's field
    await page.getByLabel('Current password').fill(user.password)
    await page.getByLabel('New password', { exact: true }).fill('short')
    await page.getByLabel('Repeat the new password').fill('short')
    await page.getByTestId('change-password').click()
    await expect.poll(() => page.locator('#new-password-error').textContent()).toContain('at least 8 characters')
    expect(await page.locator('#current-password-error').count()).toBe(0)

    // two different new passwords: caught before asking the API
    await page.getByLabel('New password', { exact: true }).fill('a-brand-new-password')
    await page.getByLabel('Repeat the new password').fill('a-different-password')
    await page.getByTestId('change-password').click()
    await expect.poll(() => page.locator('#confirm-password-error').textContent()).toContain('differ')

    // success
    const newPassword = 'a-brand-new-password'
    await page.getByLabel('Repeat the new password').fill(newPassword)
    await page.getByTestId('change-password').click()
    await page.getByTestId('password-changed').waitFor()
    expect(await page.getByLabel('Current password').inputValue()).toBe('') // the form is cleared
    expect(await page.locator('[data-testid="password-form"] [data-testid="field-error"]').count()).toBe(0)

    // this browser stays signed in with the new session (a reload trades its refresh token)
    await page.reload()
    await page.getByTestId('profile-email').waitFor()
    expect(new URL(page.url()).pathname).toBe('/settings')

    // the old password is refused, the new one signs in
    const old = await gqlRaw(null, 'mutation($e:String!,$p:String!){login(input:{email:$e,password:$p}){__typename}}', { e: user.email, p: user.password })
    expect((old.body.data?.login as { __typename: string }).__typename).toBe('InvalidCredentials')
    const other = await newPage()
    await signIn(other, user.email, newPassword)
    await goto(other, '/settings')
    await expect.poll(() => other.getByTestId('profile-email').textContent()).toBe(user.email)
  })

  test('Tokens: create a personal access token, use it over HTTP, revoke it, see it refused', async () => {
    const page = await newPage()
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE_URL })
    const user = await registerUser(page)
    await goto(page, '/settings')
    await page.getByTestId('tokens-empty').waitFor() // a first-time user: what tokens are for

    // a name is needed: said at its field before asking the API
    await page.getByTestId('create-token').click()
    await expect.poll(() => page.locator('#token-name-error').textContent()).toContain('name')

    await page.getByLabel('Token name').fill('e2e script')
    await page.getByLabel('Access', { exact: true }).selectOption('READ')
    await page.getByLabel('Expires after').selectOption('30')
    await page.getByTestId('create-token').click()
    await page.getByTestId('new-token').waitFor()
    const token = await page.getByTestId('new-token-value').inputValue()
    expect(token).toMatch(/^bt_pat_\S{20,}$/)

    // copied with a visible state
    await page.getByTestId('copy-token').click()
    await expect.poll(() => page.getByTestId('copy-token').textContent()).toContain('Copied')
    expect(await page.getByTestId('copy-state').textContent()).toContain('Copied to the clipboard')
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token)

    // listed: active, with its prefix, scope and expiry
    const row = page.getByTestId('token-row-e2e script')
    await row.waitFor()
    expect(await row.getByTestId('token-status').textContent()).toBe('Active')
    expect(await row.textContent()).toContain('Read only')
    const prefix = (await row.getByTestId('token-prefix').textContent())!.replace('…', '')
    expect(token.startsWith(prefix)).toBe(true)
    expect(await page.getByTestId('tokens-empty').count()).toBe(0)

    // the examples name this server and the header, with the new secret ready to paste
    const curl = await page.getByTestId('example-curl').textContent()
    expect(curl).toContain(`curl -s ${BASE_URL}/graphql`)
    expect(curl).toContain('Authorization: Bearer $BACKTEST_TOKEN')
    expect(curl).toContain(token)
    await page.getByRole('tab', { name: 'GraphQL client' }).click()
    expect(await page.getByTestId('example-client').textContent()).toContain(`url: '${BASE_URL}/graphql'`)

    // the token works from plain HTTP
    expect(await meWith(token)).toMatchObject({ email: user.email, status: 200 })

    await audit(page, 'settings-token-created')
    await setTheme(page, 'dark') // a reload: the secret is gone for good, the token stays listed
    await row.waitFor()
    expect(await page.getByTestId('new-token').count()).toBe(0)
    expect(await page.getByText(token).count()).toBe(0)
    await audit(page, 'settings-tokens')
    await setTheme(page, 'light')
    await audit(page, 'settings-tokens')

    // revoke, after the confirmation (Cancel keeps it)
    await row.getByTestId('revoke-token').click()
    const dialog = page.getByRole('alertdialog')
    await dialog.waitFor()
    expect(await dialog.textContent()).toContain('Revoke “e2e script”?')
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    await dialog.waitFor({ state: 'detached' })
    expect(await row.getByTestId('token-status').textContent()).toBe('Active')
    expect(await meWith(token)).toMatchObject({ email: user.email })

    await row.getByTestId('revoke-token').click()
    await dialog.getByRole('button', { name: 'Revoke token' }).click()
    await expect.poll(() => row.getByTestId('token-status').textContent()).toBe('Revoked')
    expect(await row.getByTestId('revoke-token').count()).toBe(0)

    // the same request is refused now
    const refused = await meWith(token)
    expect(refused.email).toBeUndefined()
    expect(refused.code).toBe('UNAUTHENTICATED')
  })

  test('tokens are listed a page of 10 at a time, paged on the server', async () => {
    const page = await newPage()
    const user = await registerUser(page)
    const session = await login(user.email, user.password)
    for (let i = 1; i <= 12; i++) {
      await gql(session, 'mutation($n: String!) { createAccessToken(input: { name: $n }) { __typename } }', { n: `token ${String(i).padStart(2, '0')}` })
    }
    await goto(page, '/settings')
    const names = () => page.locator('[data-testid="tokens-table"] tbody th span:first-child').allTextContents()
    await expect.poll(names).toHaveLength(10)
    expect((await names())[0]).toBe('token 12') // newest first
    expect(await page.getByTestId('token-count').textContent()).toBe('12 in all')
    await page.getByText('Page 1 of 2').waitFor()
    await page.getByRole('button', { name: 'Next' }).click()
    await expect.poll(names).toEqual(['token 02', 'token 01'])
    await page.getByText('Page 2 of 2').waitFor()
    expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true)
    await page.getByRole('button', { name: 'Previous' }).click()
    await expect.poll(async () => (await names())[0]).toBe('token 12')
  })
})
