/**
 * E2E support: Debian's Chromium (never a downloaded browser) driven by playwright-core
 * against the real server that e2e/globalSetup.ts starts.
 *
 * API (everything a test needs; keep it small):
 *   BASE_URL, USER                 the server (http://127.0.0.1:<port>) and an existing account
 *   SIZES                          { desktop: 1280×800, phone: 390×844 }
 *   newPage(opts?) -> Page         a fresh context + page. The test FAILS (after it ran) on any
 *                                  console error, uncaught page error, or request/websocket
 *                                  to another origin. opts: { size?: 'desktop'|'phone',
 *                                  colorScheme?: 'light'|'dark', allowConsoleErrors?: RegExp[] }
 *   goto(page, path)               opens BASE_URL + path and waits until the app shows an <h1>
 *   signIn(page, email?, password?) signs in through the form (default: USER), waits to leave
 *                                  /sign-in
 *   registerUser(page) -> {email, password}  registers a fresh account through the form (the page then signs in)
 *   setTheme(page, 'light'|'dark'|'system')  stores the choice and reloads (as the app would)
 *   checkA11y(page, label?)        axe (wcag2a, wcag2aa): fails on serious/critical
 *                                  violations, printing each with its nodes
 *   screenshot(page, name)         artifacts/<name>-<light|dark>-<desktop|phone>.png at both
 *                                  sizes (the viewport is restored afterwards); fails when
 *                                  the page is wider than the screen (it must not scroll sideways)
 * A failed test leaves artifacts/failures/<test name>.png (what its page showed).
 *
 * Example:
 *   import { describe, test, expect } from 'vitest'
 *   import { newPage, signIn, goto, checkA11y, screenshot } from './support/browser'
 *   test('strategies list', async () => {
 *     const page = await newPage()
 *     await signIn(page)
 *     await goto(page, '/strategies')
 *     await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toContain('Strategies')
 *     await checkA11y(page, 'strategies')
 *     await screenshot(page, 'strategies')
 *   })
 */
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, inject, onTestFinished } from 'vitest'
import { chromium, type Browser, type Page } from 'playwright-core'
import AxeBuilder from '@axe-core/playwright'

export const BASE_URL: string = inject('baseUrl')
export const USER: { email: string; password: string } = inject('user')
export const SIZES = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const
export type Size = keyof typeof SIZES

const ARTIFACTS = fileURLToPath(new URL('../../artifacts/', import.meta.url))
const ORIGIN = new URL(BASE_URL).origin

let browser: Promise<Browser> | null = null

function launch(): Promise<Browser> {
  browser ??= chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    // root (CI containers) cannot use Chromium's sandbox
    args: process.getuid?.() === 0 ? ['--no-sandbox', '--disable-dev-shm-usage'] : ['--disable-dev-shm-usage'],
  })
  return browser
}

afterAll(async () => {
  if (browser) await (await browser).close()
  browser = null
})

function offOrigin(url: string): boolean {
  if (/^(data|blob|about|chrome-error):/.test(url)) return false
  try {
    return new URL(url).origin !== ORIGIN
  } catch {
    return true
  }
}

export interface PageOptions {
  size?: Size
  colorScheme?: 'light' | 'dark'
  /** Console errors matching one of these do not fail the test (e.g. an expected 404). */
  allowConsoleErrors?: RegExp[]
}

export async function newPage(opts: PageOptions = {}): Promise<Page> {
  const context = await (await launch()).newContext({
    viewport: SIZES[opts.size ?? 'desktop'],
    colorScheme: opts.colorScheme ?? 'light',
    reducedMotion: 'reduce',
  })
  const page = await context.newPage()
  page.setDefaultTimeout(15_000) // a failing wait names its locator well before the test's timeout
  const problems: string[] = []
  const allowed = opts.allowConsoleErrors ?? []
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return
    const text = msg.text()
    if (allowed.some((re) => re.test(text))) return
    const where = msg.location().url ? ` (${msg.location().url}:${msg.location().lineNumber})` : ''
    problems.push(`console error: ${text}${where}`)
  })
  page.on('pageerror', (err) => problems.push(`uncaught error: ${err.message}`))
  page.on('request', (req) => {
    if (offOrigin(req.url())) problems.push(`request to another origin: ${req.method()} ${req.url()}`)
  })
  page.on('websocket', (ws) => {
    if (new URL(ws.url()).host !== new URL(BASE_URL).host) problems.push(`websocket to another origin: ${ws.url()}`)
  })
  onTestFinished(async ({ task }) => {
    if (task.result?.state === 'fail' && !page.isClosed()) {
      // what the page showed when the test failed: artifacts/failures/<test>.png
      mkdirSync(`${ARTIFACTS}failures`, { recursive: true })
      const name = task.name.replace(/[^\w-]+/g, '-').slice(0, 80)
      await page.screenshot({ path: `${ARTIFACTS}failures/${name}.png`, fullPage: true }).catch(() => {})
    }
    await context.close().catch(() => {})
    if (problems.length) throw new Error(`The page reported problems:\n  - ${problems.join('\n  - ')}`)
  })
  return page
}

/** Opens BASE_URL + path and waits for the app to render a page heading. */
export async function goto(page: Page, path: string): Promise<void> {
  await page.goto(BASE_URL + path)
  await page.locator('h1').first().waitFor({ state: 'visible' })
}

export async function signIn(page: Page, email = USER.email, password = USER.password): Promise<void> {
  if (!page.url().startsWith(`${BASE_URL}/sign-in`)) await goto(page, '/sign-in')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password', { exact: true }).fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'))
  await page.locator('main h1').first().waitFor({ state: 'visible' })
}

let registered = 0
export async function registerUser(page: Page): Promise<{ email: string; password: string }> {
  const email = `user-${process.pid}-${Date.now()}-${registered++}@example.com`
  const password = 'a-long-e2e-password'
  await goto(page, '/register')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password', { exact: true }).fill(password)
  await page.getByRole('button', { name: 'Create account' }).click()
  await page.waitForURL((url) => !url.pathname.startsWith('/register'))
  await page.locator('main h1').first().waitFor({ state: 'visible' })
  return { email, password }
}

/** Stores the theme as Settings would, then reloads the page (an initial page if none). */
export async function setTheme(page: Page, theme: 'light' | 'dark' | 'system'): Promise<void> {
  if (!page.url().startsWith(BASE_URL)) await page.goto(`${BASE_URL}/sign-in`)
  await page.evaluate((t) => localStorage.setItem('backtest.theme', t), theme)
  await page.reload()
  await page.locator('h1').first().waitFor({ state: 'visible' })
}

export async function checkA11y(page: Page, label = page.url()): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa']).analyze()
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  const lines = result.violations.map((v) => {
    const nodes = v.nodes
      .slice(0, 5)
      .map((n) => `      ${n.target.join(' ')}: ${n.failureSummary?.split('\n').slice(1).join(' ').trim() ?? ''}`)
      .join('\n')
    return `  [${v.impact}] ${v.id}: ${v.help} (${v.nodes.length} node(s))\n${nodes}`
  })
  if (lines.length) console.warn(`axe on ${label}:\n${lines.join('\n')}`)
  if (bad.length) throw new Error(`axe: ${bad.length} serious/critical violation(s) on ${label}:\n${lines.join('\n')}`)
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true })
  const original = page.viewportSize()
  const dark = await page.evaluate(() => document.documentElement.classList.contains('dark'))
  for (const [size, viewport] of Object.entries(SIZES)) {
    await page.setViewportSize(viewport)
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
    // nothing may widen the page past the screen (tables scroll inside their own region)
    const widths = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth])
    expect(widths[0], `${name}: the page is wider than the ${size} screen`).toBeLessThanOrEqual(widths[1]!)
    await page.screenshot({ path: `${ARTIFACTS}${name}-${dark ? 'dark' : 'light'}-${size}.png`, fullPage: true })
  }
  if (original) await page.setViewportSize(original)
}
