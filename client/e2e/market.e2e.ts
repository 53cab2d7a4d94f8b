// Market data end to end, against the real server syncing from the fake Binance
// (tests/tasks/serve_fake_binance.py, started by globalSetup): search a market, sync it with
// its progress reaching 100 %, see it in the coverage table (checked against the API); the live
// chart, seeded with the stored candles, receives the bars the fake's websocket pushes (its last
// bar checked against what the fake sent); cancel a sync held up by the fake; import a kline file with the file input and see it in
// the coverage with its gap; a bad file dropped on the zone shows its row and column. axe and
// screenshots in both themes and both sizes.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { BASE_URL, USER, checkA11y, goto, newPage, screenshot, setTheme, signIn } from './support/browser'
import { apiAs, chartCounts, fakeDelayKlines, fakeKlineEvents, klineCsv } from './support/market'

const T0 = Date.parse('2024-01-01T00:00:00Z')
const MIN = 60_000
const HOUR = 3_600_000
/** The fake's clock starts 3,500 minutes and 25 s after T0: 3,500 closed 1m bars. */
const SYNCED_BARS = 3500

const COVERAGE = `query($s:String!,$t:String!,$x:String!){marketDataCoverage(symbol:$s,timeframe:$t,exchange:$x){count first last missingBars missing{first last bars}}}`

describe('market data', () => {
  test('sync a market from the fake Binance, then watch its live candles', async () => {
    const api = await apiAs(USER.email, USER.password)
    const page = await newPage()
    await signIn(page)
    await goto(page, '/market')
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Market data')
    // the seeded demo series is listed, without a live feed
    await page.locator('[data-testid="coverage-row"][data-market="demo:DEMO/USDT:1h"]').waitFor()
    await expect.poll(() => page.getByTestId('live-empty').isVisible()).toBe(true)

    // search the exchange's markets, pick one with the keyboard
    const market = page.getByRole('combobox', { name: 'Market' })
    await market.pressSequentially('btc')
    await page.getByRole('option', { name: 'BTC/USDT' }).waitFor()
    await market.press('ArrowDown')
    await market.press('Enter')
    await expect.poll(() => market.inputValue()).toBe('BTC/USDT')
    await page.getByTestId('sync-form').getByLabel('Timeframe').selectOption('1m')
    await page.getByLabel('Since (UTC)').fill('2024-01-01')

    // record every percentage the job row shows, to see the progress move
    await page.evaluate(() => {
      const seen: string[] = []
      ;(window as unknown as { __syncPercents: string[] }).__syncPercents = seen
      new MutationObserver(() => {
        const el = document.querySelector('[data-testid="sync-job"][data-symbol="BTC/USDT"] [data-testid="sync-percent"]')
        const t = el?.textContent?.trim()
        if (t && seen[seen.length - 1] !== t) seen.push(t)
      }).observe(document.body, { subtree: true, childList: true, characterData: true })
    })
    await page.getByTestId('sync-start').click()
    const job = page.locator('[data-testid="sync-job"][data-symbol="BTC/USDT"]').first()
    await job.waitFor()
    await expect.poll(() => job.getAttribute('data-status'), { timeout: 45_000 }).toBe('SUCCEEDED')
    await expect.poll(() => job.getByTestId('sync-percent').textContent()).toBe('100 %')
    await expect.poll(() => job.getByTestId('sync-stored').textContent()).toBe(SYNCED_BARS.toLocaleString('en-US'))
    expect(await job.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100')
    const percents = await page.evaluate(() => (window as unknown as { __syncPercents: string[] }).__syncPercents)
    const values = percents.map((p) => Number.parseInt(p, 10))
    expect(values[0], `progress seen: ${percents.join(', ')}`).toBeLessThan(100)
    expect(values.at(-1)).toBe(100)
    expect([...values].sort((a, b) => a - b)).toEqual(values)

    // the coverage table lists it, as the API reports it
    const row = page.locator('[data-testid="coverage-row"][data-market="binance:BTC/USDT:1m"]')
    await row.waitFor()
    const cov = await api<{ marketDataCoverage: { count: number; first: string; last: string; missingBars: number } }>(COVERAGE, {
      s: 'BTC/USDT',
      t: '1m',
      x: 'binance',
    })
    expect(cov.marketDataCoverage).toMatchObject({ count: SYNCED_BARS, missingBars: 0 })
    expect(await row.getByTestId('coverage-count').textContent()).toBe(SYNCED_BARS.toLocaleString('en-US'))
    await expect.poll(() => row.textContent()).toContain('2024-01-01 00:00')
    await expect.poll(() => row.getByRole('img').getAttribute('aria-label')).toBe(
      'BTC/USDT 1m on binance: 3,500 candles from 2024-01-01 00:00 to 2024-01-03 10:19, no gaps',
    )

    // the finished sync opens its live chart: seeded with the stored bars, then the fake's pushes
    await page.waitForURL((u) => u.searchParams.get('live') === 'binance:BTC/USDT:1m')
    await page.getByTestId('live-candle-chart').waitFor()
    const lastStored = Math.floor((T0 + (SYNCED_BARS - 1) * MIN) / 1000)
    await expect.poll(async () => (await chartCounts(page, 'live-candle-chart'))?.lastTime ?? 0, { timeout: 20_000 }).toBeGreaterThanOrEqual(lastStored)
    // a bar newer than every stored one arrives (the forming bar), then the next one
    await expect.poll(async () => (await chartCounts(page, 'live-candle-chart'))?.lastTime ?? 0, { timeout: 30_000 }).toBeGreaterThan(lastStored + 60)
    const live = (await chartCounts(page, 'live-candle-chart'))!
    // 300 stored bars, then one per minute the stream reached (updated in place while forming)
    expect(live.candles).toBe(300 + (live.lastTime! - lastStored) / 60)
    const events = (await fakeKlineEvents()).filter((e) => e.s === 'BTCUSDT' && e.k.i === '1m')
    expect(events.length).toBeGreaterThan(0)
    const sent = events.filter((e) => e.k.t / 1000 === live.lastTime)
    expect(sent.length, `the fake sent no bar at ${live.lastTime}`).toBeGreaterThan(0)
    expect(
      sent.some(
        (e) => Number(e.k.o) === live.lastOpen && Number(e.k.h) === live.lastHigh && Number(e.k.l) === live.lastLow && Number(e.k.c) === live.lastClose,
      ),
      `chart ${JSON.stringify(live)} vs sent ${JSON.stringify(sent.map((e) => e.k))}`,
    ).toBe(true)
    await expect.poll(() => page.getByTestId('live-state').textContent()).toMatch(/^Live/)
    await expect.poll(() => page.getByTestId('live-last').textContent()).toContain('updates')
  })

  test('cancel a running sync: it ends cancelled, keeping what it stored', async () => {
    const api = await apiAs(USER.email, USER.password)
    const page = await newPage()
    await signIn(page)
    await goto(page, '/market')
    await page.getByRole('combobox', { name: 'Market' }).fill('ETH/BTC')
    await page.getByRole('combobox', { name: 'Market' }).press('Escape')
    await page.getByTestId('sync-form').getByLabel('Timeframe').selectOption('1m')
    await page.getByLabel('Since (UTC)').fill('2024-01-01')
    // a typed problem shows at its field: the demo exchange cannot be synced
    const exchange = page.getByTestId('sync-form').getByLabel('Exchange')
    await exchange.fill('demo')
    await page.getByTestId('sync-start').click()
    await expect.poll(() => exchange.getAttribute('aria-invalid')).toBe('true')
    expect(await page.locator('#sync-exchange-error').textContent()).toContain('demo candles are synthetic')
    await exchange.fill('binance')

    await fakeDelayKlines(4) // the first page of candles comes 4 s late
    await page.getByTestId('sync-start').click()
    const job = page.locator('[data-testid="sync-job"][data-symbol="ETH/BTC"]').first()
    await expect.poll(() => job.getAttribute('data-status')).toBe('RUNNING')
    await job.getByRole('button', { name: 'Cancel the sync of ETH/BTC 1m' }).click()
    await expect.poll(() => job.getAttribute('data-status'), { timeout: 20_000 }).toBe('CANCELLED')
    await expect.poll(() => job.getByTestId('sync-status').textContent()).toBe('Cancelled')
    expect(await job.getByRole('button', { name: /Cancel/ }).count()).toBe(0)
    // what the job stored (at most its first page) is what the API has
    const stored = Number((await job.getByTestId('sync-stored').textContent())!.replace(/,/g, ''))
    expect(stored).toBeLessThan(SYNCED_BARS)
    const cov = await api<{ marketDataCoverage: { count: number } | null }>(COVERAGE, { s: 'ETH/BTC', t: '1m', x: 'binance' })
    expect(cov.marketDataCoverage?.count ?? 0).toBe(stored)
  })

  test('import a kline file with the file input; a bad file dropped on the zone names its row', async () => {
    const api = await apiAs(USER.email, USER.password)
    const dir = mkdtempSync(join(tmpdir(), 'market-e2e-'))
    // 24 hourly bars with a 2-bar gap (hours 10 and 11)
    const opens = Array.from({ length: 24 }, (_, i) => T0 + i * HOUR).filter((_, i) => i !== 10 && i !== 11)
    const good = join(dir, 'SOLUSDT-1h-2024-01.csv')
    writeFileSync(good, klineCsv(opens))

    const page = await newPage()
    await signIn(page)
    await goto(page, '/market')
    await page.getByLabel('Choose a file').setInputFiles(good)
    await expect.poll(() => page.getByTestId('import-file-name').textContent()).toBe('SOLUSDT-1h-2024-01.csv')
    // the dump's name fills in the market and timeframe
    const form = page.getByTestId('import-form')
    expect(await form.getByLabel('Market').inputValue()).toBe('SOL/USDT')
    expect(await form.getByLabel('Timeframe').inputValue()).toBe('1h')
    await page.getByTestId('import-submit').click()
    await expect.poll(() => page.getByTestId('import-done').textContent()).toMatch(/Imported 22 1h candles of SOL\/USDT on binance\s*\(22 new\)/)

    const cov = await api<{ marketDataCoverage: { count: number; missingBars: number; missing: { bars: number }[] } }>(COVERAGE, {
      s: 'SOL/USDT',
      t: '1h',
      x: 'binance',
    })
    expect(cov.marketDataCoverage).toMatchObject({ count: 22, missingBars: 2, missing: [{ bars: 2 }] })
    const row = page.locator('[data-testid="coverage-row"][data-market="binance:SOL/USDT:1h"]')
    await row.waitFor()
    expect(await row.getByTestId('coverage-count').textContent()).toBe('22')
    await expect.poll(() => row.getByTestId('coverage-gap').count()).toBe(1)
    await expect.poll(() => row.getByRole('img').getAttribute('aria-label')).toBe(
      'SOL/USDT 1h on binance: 22 candles from 2024-01-01 00:00 to 2024-01-01 23:00, 1 gap (2 missing bars)',
    )
    expect(await row.getByTestId('coverage-gap').getAttribute('title')).toBe('2 missing bars from 2024-01-01 10:00 to 2024-01-01 11:00')

    // a bad file (row 3's high below its close), dropped on the zone
    const bad = klineCsv(
      Array.from({ length: 5 }, (_, i) => T0 + (30 + i) * HOUR),
      { highBelowAt: 2 },
    )
    const drop = await page.evaluateHandle((text) => {
      const dt = new DataTransfer()
      dt.items.add(new File([text], 'SOLUSDT-1h-2024-02.csv', { type: 'text/csv' }))
      return dt
    }, bad)
    await page.getByTestId('import-drop').dispatchEvent('drop', { dataTransfer: drop })
    await expect.poll(() => page.getByTestId('import-file-name').textContent()).toBe('SOLUSDT-1h-2024-02.csv')
    await page.getByTestId('import-submit').click()
    const problem = page.getByTestId('import-problem')
    await problem.first().waitFor()
    expect(await problem.count()).toBe(1)
    const cells = await problem.locator('td').allTextContents()
    expect(cells[0]).toBe('3')
    expect(cells[1]).toBe('high')
    expect(cells[2]).toContain('below max(open, close)')
    expect(await page.getByTestId('import-problems').textContent()).toContain('nothing was stored')
    // nothing was stored
    const after = await api<{ marketDataCoverage: { count: number } }>(COVERAGE, { s: 'SOL/USDT', t: '1h', x: 'binance' })
    expect(after.marketDataCoverage.count).toBe(22)
  })

  test('axe and screenshots in both themes and sizes', async () => {
    const page = await newPage()
    await signIn(page)
    await goto(page, '/market?live=binance:BTC/USDT:1m')
    await page.locator('[data-testid="coverage-row"][data-market="binance:BTC/USDT:1m"]').waitFor()
    await page.getByTestId('live-candle-chart').waitFor()
    await expect.poll(() => page.getByTestId('live-state').textContent(), { timeout: 20_000 }).toMatch(/^Live/)
    // a refused file, to show its problems
    const drop = await page.evaluateHandle(() => {
      const dt = new DataTransfer()
      dt.items.add(new File(['timestamp,open,high,low,close,volume\n2024-01-01T00:00:00Z,1,2,0.5,1.5,x\n'], 'candles.csv', { type: 'text/csv' }))
      return dt
    })
    await page.getByTestId('import-drop').dispatchEvent('drop', { dataTransfer: drop })
    await page.getByTestId('import-form').getByLabel('Market').fill('SOL/USDT')
    await page.getByTestId('import-submit').click()
    await page.getByTestId('import-problem').first().waitFor()
    // the combobox open with its matches
    await page.getByRole('combobox', { name: 'Market' }).pressSequentially('usdt')
    await page.getByRole('option', { name: 'ETH/USDT' }).waitFor()
    await checkA11y(page, 'market data (light)')
    await page.getByRole('combobox', { name: 'Market' }).press('Escape')
    await screenshot(page, 'market')

    await setTheme(page, 'dark')
    await page.getByTestId('live-candle-chart').waitFor()
    await page.locator('[data-testid="coverage-row"][data-market="binance:SOL/USDT:1h"]').waitFor()
    await checkA11y(page, 'market data (dark)')
    await screenshot(page, 'market')
    await setTheme(page, 'light')
    expect(page.url().startsWith(BASE_URL)).toBe(true)
  })
})
