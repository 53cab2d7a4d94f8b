/**
 * Strategy helpers for e2e tests (the strategies engineer's).
 *
 *   buildSmaCrossover(page, opts?) -> id   opens /strategies/new, builds "fast SMA crosses above
 *                                           slow SMA → enter; crosses below → exit" by clicking
 *                                           in the rule builder, saves, and returns the saved
 *                                           version's id (the page is then /strategies/<id>).
 *                                           opts: { name = 'SMA crossover', fast = 10, slow = 50 }
 *   setComparison(page, path, left, op, right)  fills one comparison row of the builder
 *
 * The builder's stable hooks (data-testid), by document path (`entry`, `entry.all[1]`...):
 *   field-name, kind-<path>.left|right (select: "price:close", "indicator:sma", "constant"),
 *   field-<path>.left.period, field-<path>.op, add-entry / add-exit (add a condition to the
 *   rule), save-strategy, strategy-summary, field-error (a server problem under its field).
 */
import type { Page } from 'playwright-core'
import { goto } from './browser'

export interface SmaOptions {
  name?: string
  fast?: number
  slow?: number
}

export type OperandChoice = { indicator: string; period?: number | string } | { price: string } | { constant: number | string }

export async function setOperand(page: Page, path: string, o: OperandChoice): Promise<void> {
  if ('indicator' in o) {
    await page.getByTestId(`kind-${path}`).selectOption(`indicator:${o.indicator}`)
    if (o.period !== undefined) await page.getByTestId(`field-${path}.period`).fill(String(o.period))
  } else if ('price' in o) {
    await page.getByTestId(`kind-${path}`).selectOption(`price:${o.price}`)
  } else {
    await page.getByTestId(`kind-${path}`).selectOption('constant')
    await page.getByTestId(`field-${path}`).fill(String(o.constant))
  }
}

export async function setComparison(page: Page, path: string, left: OperandChoice, op: string, right: OperandChoice): Promise<void> {
  await setOperand(page, `${path}.left`, left)
  await page.getByTestId(`field-${path}.op`).selectOption(op)
  await setOperand(page, `${path}.right`, right)
}

/** Fills the builder with the SMA crossover (without saving). */
export async function fillSmaCrossover(page: Page, opts: SmaOptions = {}): Promise<void> {
  const { name = 'SMA crossover', fast = 10, slow = 50 } = opts
  await page.getByTestId('field-name').fill(name)
  await setComparison(page, 'entry', { indicator: 'sma', period: fast }, 'crosses_above', { indicator: 'sma', period: slow })
  await page.getByTestId('add-exit').click()
  await setComparison(page, 'exit', { indicator: 'sma', period: fast }, 'crosses_below', { indicator: 'sma', period: slow })
}

/** Clicks Save and waits for the saved strategy's page; returns its id. */
export async function saveStrategy(page: Page): Promise<string> {
  const before = page.url()
  await page.getByTestId('save-strategy').click()
  await page.waitForURL((u) => /^\/strategies\/(?!new)[^/]+$/.test(u.pathname) && u.href !== before)
  await page.getByTestId('unsaved').waitFor({ state: 'detached' })
  return decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!)
}

export async function buildSmaCrossover(page: Page, opts: SmaOptions = {}): Promise<string> {
  await goto(page, '/strategies/new')
  await page.getByTestId('field-name').waitFor()
  await fillSmaCrossover(page, opts)
  return saveStrategy(page)
}
