// The initial-JS budget: the app entry and every chunk it imports statically (what the browser
// must load before the first page shows) stay at most 150 KB gzipped. Reads Vite's build
// manifest (dist/.vite/manifest.json); `npm run build` first.
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { join } from 'node:path'

const BUDGET = 150 * 1024
const dist = new URL('../dist/', import.meta.url).pathname
const manifest = JSON.parse(readFileSync(join(dist, '.vite/manifest.json'), 'utf8'))
const entry = manifest['index.html']
if (!entry) {
  console.error('budget: index.html is not an entry of the build manifest')
  process.exit(1)
}
const seen = new Set()
const files = []
;(function walk(key) {
  if (seen.has(key)) return
  seen.add(key)
  const chunk = manifest[key]
  files.push(chunk.file)
  for (const imp of chunk.imports ?? []) walk(imp)
})('index.html')
let total = 0
for (const file of files) {
  const size = gzipSync(readFileSync(join(dist, file)), { level: 9 }).length
  total += size
  console.log(`  ${file}  ${(size / 1024).toFixed(1)} KB gzip`)
}
const verdict = total <= BUDGET ? 'within' : 'OVER'
console.log(`budget: initial JS ${(total / 1024).toFixed(1)} KB gzip, ${verdict} the ${BUDGET / 1024} KB budget`)
process.exit(total <= BUDGET ? 0 : 1)
