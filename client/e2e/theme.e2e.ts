import { expect, test } from 'vitest'
import { goto, newPage, signIn } from './support/browser'

test('the theme chosen in Settings persists across a reload, with no flash', async () => {
  const page = await newPage({ colorScheme: 'light' })
  // record the <html> class at the moment <body> starts: after the inline theme script of
  // <head>, before any module script of the app runs
  await page.addInitScript(() => {
    const w = window as unknown as { darkAtBody?: boolean }
    new MutationObserver((_, observer) => {
      if (document.body) {
        w.darkAtBody = document.documentElement.classList.contains('dark')
        observer.disconnect()
      }
    }).observe(document, { childList: true, subtree: true })
  })
  await signIn(page)
  await goto(page, '/settings')
  await page.getByRole('radio', { name: 'Dark' }).check()
  await expect.poll(() => page.evaluate(() => document.documentElement.classList.contains('dark'))).toBe(true)

  await page.reload()
  await page.locator('main h1').first().waitFor()
  expect(await page.evaluate(() => (window as unknown as { darkAtBody?: boolean }).darkAtBody)).toBe(true)
  expect(await page.getByRole('radio', { name: 'Dark' }).isChecked()).toBe(true)

  // System follows the device (light here); red-up swaps the colour tokens
  await page.getByRole('radio', { name: 'System' }).check()
  await expect.poll(() => page.evaluate(() => document.documentElement.classList.contains('dark'))).toBe(false)
  await page.getByRole('radio', { name: 'Red up, green down' }).check()
  await page.reload()
  await page.locator('main h1').first().waitFor()
  expect(await page.evaluate(() => (window as unknown as { darkAtBody?: boolean }).darkAtBody)).toBe(false)
  expect(await page.evaluate(() => document.documentElement.classList.contains('updown-inverted'))).toBe(true)
})
