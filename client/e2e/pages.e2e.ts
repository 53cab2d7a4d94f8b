// Every page of this part in both themes at both sizes: axe-clean, and screenshotted into
// artifacts/ (look at them: they are not baselines).
import { describe, expect, test } from 'vitest'
import type { Page } from 'playwright-core'
import { SIZES, checkA11y, goto, newPage, registerUser, screenshot, setTheme } from './support/browser'

async function audit(page: Page, name: string): Promise<void> {
  for (const [size, viewport] of Object.entries(SIZES)) {
    await page.setViewportSize(viewport)
    await checkA11y(page, `${name} (${size})`)
  }
  await screenshot(page, name)
}

describe.each(['light', 'dark'] as const)('%s theme', (theme) => {
  test('sign-in and register', async () => {
    const page = await newPage()
    await setTheme(page, theme)
    await goto(page, '/sign-in')
    await audit(page, 'sign-in')
    await goto(page, '/register')
    await page.getByRole('button', { name: 'Create account' }).click() // the errors shown too
    await page.locator('#password-error').waitFor()
    await audit(page, 'register-errors')
  })

  test('dashboard, settings, not found', async () => {
    const page = await newPage()
    await setTheme(page, theme)
    await registerUser(page)
    await page.getByTestId('dashboard-empty').waitFor()
    await audit(page, 'dashboard-new-user')
    await goto(page, '/settings')
    await page.getByTestId('profile-email').waitFor()
    await audit(page, 'settings')
    await goto(page, '/no/such/page')
    await audit(page, 'not-found')
  })

  test('the phone menu (drawer open)', async () => {
    const page = await newPage({ size: 'phone' })
    await setTheme(page, theme)
    await registerUser(page)
    await page.getByRole('button', { name: 'Open the menu' }).click()
    const close = page.getByRole('button', { name: 'Close the menu' })
    await expect.poll(() => close.evaluate((el) => el === document.activeElement)).toBe(true)
    await checkA11y(page, 'drawer (phone)')
    await page.screenshot({ path: new URL(`../artifacts/drawer-${theme}-phone.png`, import.meta.url).pathname })
    await page.keyboard.press('Escape')
    await expect.poll(() => page.getByRole('button', { name: 'Open the menu' }).evaluate((el) => el === document.activeElement)).toBe(true)
  })
})
