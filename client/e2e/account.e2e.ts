import { describe, expect, test } from 'vitest'
import { BASE_URL, USER, goto, newPage, registerUser, signIn } from './support/browser'

describe('account', () => {
  test('register lands signed in; sign out; sign in again', async () => {
    const page = await newPage()
    const { email, password } = await registerUser(page)
    expect(new URL(page.url()).pathname).toBe('/')
    await expect.poll(() => page.getByTestId('user-email').textContent()).toBe(email)

    await page.getByTestId('sign-out').click()
    await page.waitForURL((u) => u.pathname === '/sign-in')
    await expect.poll(() => page.getByTestId('session-notice').textContent()).toContain('signed out')

    await signIn(page, email, password)
    expect(new URL(page.url()).pathname).toBe('/')
    // a reload stays signed in (the refresh token resumes the session silently)
    await page.reload()
    await page.locator('main h1').first().waitFor()
    expect(new URL(page.url()).pathname).toBe('/')
  })

  test('sign-in errors show at the field; redirect goes back', async () => {
    const page = await newPage()
    await goto(page, '/settings')
    await page.waitForURL((u) => u.pathname === '/sign-in')
    expect(new URL(page.url()).searchParams.get('redirect')).toBe('/settings')
    await page.getByLabel('Email').fill(USER.email)
    await page.getByLabel('Password', { exact: true }).fill('not-the-password')
    await page.getByRole('button', { name: 'Sign in' }).click()
    const password = page.getByLabel('Password', { exact: true })
    await expect.poll(() => password.getAttribute('aria-invalid')).toBe('true')
    await expect.poll(() => page.locator('#password-error').textContent()).toMatch(/./)
    await signIn(page)
    expect(new URL(page.url()).pathname).toBe('/settings')
  })

  test('register errors: a taken email (not revealed as such) and a short password', async () => {
    const page = await newPage()
    await goto(page, '/register')
    await page.getByLabel('Email').fill(USER.email)
    await page.getByLabel('Password', { exact: true }).fill('a-long-enough-password')
    await page.getByRole('button', { name: 'Create account' }).click()
    // registering answers as for a new email; signing in with this password then fails
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('Could not sign in')
    expect(new URL(page.url()).pathname).toBe('/register')
    expect(await page.locator('#email-error').count()).toBe(0)
    await page.getByLabel('Email').fill('someone-new@example.com')
    await page.getByLabel('Password', { exact: true }).fill('short')
    await page.getByRole('button', { name: 'Create account' }).click()
    await expect.poll(() => page.locator('#password-error').textContent()).toContain('8 characters')
    expect(await page.locator('#email-error').count()).toBe(0)
  })

  test('an invalid stored refresh token returns to sign-in with the message, once', async () => {
    const page = await newPage()
    await page.goto(`${BASE_URL}/sign-in`)
    await page.evaluate(() => localStorage.setItem('backtest.refresh', 'not-a-valid-token'))
    await goto(page, '/strategies')
    await page.waitForURL((u) => u.pathname === '/sign-in')
    await expect.poll(() => page.getByTestId('session-notice').textContent()).toContain('Your session has expired')
    expect(await page.evaluate(() => localStorage.getItem('backtest.refresh'))).toBeNull()
    await page.reload()
    await page.locator('h1').first().waitFor()
    expect(await page.getByTestId('session-notice').count()).toBe(0)
  })

  test('a deep link loads the app shell', async () => {
    const page = await newPage()
    await signIn(page)
    await goto(page, '/backtests/123')
    expect(new URL(page.url()).pathname).toBe('/backtests/123')
    await page.locator('#sidebar').waitFor()
    const missing = await page.request.get(`${BASE_URL}/assets/missing.js`)
    expect(missing.status()).toBe(404)
  })
})
