// Browser benchmark of the result page's charts: 100,000 candles, from data arrival to
// interactive (target ≤ 1 s). Not a test: prints the figures.
//   cd client && node bench/run.mjs [bars=100000] [runs=5]
// Builds bench/index.html for production (as users get it: Vue and lightweight-charts without
// their development checks) into a temporary directory, serves it with `vite preview` and
// measures in Debian's Chromium (performance marks 'bench:data' -> 'bench:interactive'). Each run
// also measures the baseline, lightweight-charts alone with the same candles and volume
// (bench/index.html?baseline=1), and prints the ratio. The page's chart loads a long series
// newest first (src/components/charts/window.ts); each run then also times loading the whole
// history at once (what scrolling back to the first bar costs at most).
import { build, preview } from 'vite'
import vue from '@vitejs/plugin-vue'
import tailwindcss from '@tailwindcss/vite'
import { chromium } from 'playwright-core'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const bars = Number(process.argv[2] ?? 100_000)
const runs = Number(process.argv[3] ?? 5)
const root = fileURLToPath(new URL('..', import.meta.url))
const outDir = mkdtempSync(join(tmpdir(), 'backtest-bench-'))
const config = {
  root,
  configFile: false,
  logLevel: 'warn',
  plugins: [vue(), tailwindcss()],
  resolve: { alias: { '@': join(root, 'src') } },
  build: { outDir, emptyOutDir: true, target: 'es2022', rollupOptions: { input: join(root, 'bench', 'index.html') } },
}
await build(config)
const server = await preview({ ...config, preview: { port: 0, host: '127.0.0.1' } })
const url = server.resolvedUrls.local[0]
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: process.getuid?.() === 0 ? ['--no-sandbox', '--disable-dev-shm-usage'] : ['--disable-dev-shm-usage'],
})
const results = []
const baselines = []
const loads = []
async function measure(query) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  await page.goto(`${url}bench/index.html?bars=${bars}${query}`)
  const r = await page.waitForFunction(() => window.__bench, null, { timeout: 60_000 }).then((h) => h.jsonValue())
  await page.close()
  return r
}
try {
  for (let i = 1; i <= runs; i++) {
    const r = await measure('')
    const b = await measure('&baseline=1')
    results.push(r.ms)
    baselines.push(b.ms)
    loads.push(r.loadAllMs)
    console.log(`run ${i}: ${r.ms} ms (the newest ${r.counts.candles} of ${r.counts.total} bars, ${r.counts.markers} markers); baseline (lightweight-charts alone, all candles and volume) ${b.ms} ms (${(r.ms / b.ms).toFixed(2)}x); then loading the whole history ${r.loadAllMs} ms (${r.countsAfter.candles} bars, ${r.countsAfter.markers} markers)`)
  }
} finally {
  await browser.close()
  await server.close()
  rmSync(outDir, { recursive: true, force: true })
}
results.sort((a, b) => a - b)
baselines.sort((a, b) => a - b)
loads.sort((a, b) => a - b)
const median = results[Math.floor(results.length / 2)]
const base = baselines[Math.floor(baselines.length / 2)]
console.log(`baseline, lightweight-charts alone: median ${base} ms; the result page's charts: ${(median / base).toFixed(2)}x the baseline`)
console.log(`data arrival -> interactive, ${bars.toLocaleString('en-US')} candles: median ${median} ms over ${results.length} runs (target <= 1000 ms) ${median <= 1000 ? 'OK' : 'OVER'}`)
console.log(`scrolling back to the first bar (the whole history loaded at once): median ${loads[Math.floor(loads.length / 2)]} ms`)
