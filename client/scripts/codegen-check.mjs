// Fails when src/graphql/generated/ is not what `npm run codegen` makes of ../schema.graphql and
// src/graphql/operations/ (works on a clean clone: generates into a temporary folder, compares).
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const client = new URL('..', import.meta.url).pathname
const committed = join(client, 'src/graphql/generated')
const fresh = mkdtempSync(join(tmpdir(), 'codegen-'))
try {
  const r = spawnSync(join(client, 'node_modules/.bin/graphql-codegen'), ['--config', 'codegen.ts', '--silent'], {
    cwd: client,
    env: { ...process.env, CODEGEN_OUT: `${fresh}/` },
    encoding: 'utf8',
  })
  if (r.status !== 0) {
    console.error(`codegen:check: graphql-codegen failed\n${r.stdout}${r.stderr}`)
    process.exit(1)
  }
  const names = new Set([...readdirSync(committed), ...readdirSync(fresh)])
  const stale = [...names].filter((name) => {
    try {
      return readFileSync(join(committed, name), 'utf8') !== readFileSync(join(fresh, name), 'utf8')
    } catch {
      return true
    }
  })
  if (stale.length) {
    console.error(`codegen:check: src/graphql/generated/ is stale (${stale.join(', ')}): run \`npm run codegen\` in client/ and commit the result`)
    process.exit(1)
  }
  console.log('codegen:check: src/graphql/generated/ is up to date')
} finally {
  rmSync(fresh, { recursive: true, force: true })
}
