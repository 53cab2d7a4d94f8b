import { expect, test } from 'vitest'
import type { Page } from 'playwright-core'
import { BASE_URL, USER, newPage } from './support/browser'

const QUERY = '.graphiql-query-editor .monaco-editor'
const HEADERS = '.graphiql-editor-tool .monaco-editor[data-uri*="headers"]'

/** Replaces the text of a Monaco editor (inserted as is: no auto-closing brackets). */
async function replaceText(page: Page, editor: string, text: string): Promise<void> {
  await page.locator(editor).first().click()
  await page.keyboard.press('ControlOrMeta+A')
  await page.keyboard.press('Delete')
  await page.keyboard.insertText(text)
  await page.waitForTimeout(400) // GraphiQL reads the operation's name after a short debounce
}

async function run(page: Page): Promise<void> {
  await page.getByRole('button', { name: /execute query/i }).click()
}

const response = (page: Page) => () => page.locator('.graphiql-response').textContent()

test('the playground loads from our origin, explains sign-in, runs queries and subscriptions', async () => {
  const page = await newPage()
  const frames: string[] = []
  page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(String(f.payload))))

  await page.goto(`${BASE_URL}/graphql`) // a browser at /graphql lands on the playground
  await page.waitForURL(`${BASE_URL}/playground`)
  await page.getByRole('button', { name: /execute query/i }).waitFor()
  await expect.poll(() => page.locator('.graphiql-query-editor').textContent()).toContain('Authorization')

  // without a session: the answer says so (a round trip over HTTP)
  await replaceText(page, QUERY, 'query Mine { me { email } }')
  await run(page)
  await expect.poll(response(page), { timeout: 15_000 }).toContain('UNAUTHENTICATED')

  // sign in, as the default tab explains
  await replaceText(page, QUERY, `mutation SignIn { login(input: {email: "${USER.email}", password: "${USER.password}"}) { ... on AuthPayload { accessToken } } }`)
  const signedIn = page.waitForResponse((r) => r.url() === `${BASE_URL}/graphql` && (r.request().postData() ?? '').includes('SignIn'))
  await run(page)
  await expect.poll(response(page), { timeout: 15_000 }).toContain('accessToken')
  const token: string = (await (await signedIn).json()).data.login.accessToken

  await page.getByRole('button', { name: 'Headers' }).click()
  await replaceText(page, HEADERS, `{"Authorization": "Bearer ${token}"}`)
  await replaceText(page, QUERY, 'query Mine { me { email } }')
  await run(page)
  await expect.poll(response(page), { timeout: 15_000 }).toContain(USER.email)

  // a subscription: over the websocket, authenticated by the same header
  await replaceText(page, QUERY, 'subscription Jobs { jobEvents { jobId kind } }')
  await run(page)
  await expect.poll(() => frames.some((f) => f.includes('connection_ack')), { timeout: 15_000 }).toBe(true)
  await page.waitForTimeout(500)
  expect(frames.filter((f) => f.includes('"error"') || f.includes('UNAUTHENTICATED'))).toEqual([])
})
