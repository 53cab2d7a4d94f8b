// E2E global setup: builds the client when dist/ is missing or older than its sources, starts
// a real `backtest serve` on a free port with a throw-away DATA_DIR (SQLite, in-process
// executor), migrated with the demo candles and holding one account, and waits for /readyz.
// Tests read `inject('baseUrl')` and `inject('user')` (see support/browser.ts).
// The server runs under support/guard.mjs, which stops it if this process dies.
// Binance is the fake of tests/tasks/fake_binance.py, run as its own process (also under the
// guard, bound to 127.0.0.1): the server's BINANCE_REST_URL/BINANCE_WS_URL point at it, so
// syncs and live candles never reach the internet; tests read `inject('fakeBinance')`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    /** http://127.0.0.1:<port> of the server under test (no trailing slash). */
    baseUrl: string
    /** An account that exists in the server's database. */
    user: { email: string; password: string }
    /** An admin account (`backtest users create --admin`). */
    admin: { email: string; password: string }
    /** The fake Binance the server syncs from (see tests/tasks/serve_fake_binance.py). */
    fakeBinance: { restUrl: string; wsUrl: string; controlUrl: string }
  }
}

const CLIENT = fileURLToPath(new URL('..', import.meta.url))
const ROOT = join(CLIENT, '..')
const BACKTEST = join(ROOT, '.venv', 'bin', 'backtest')
const PYTHON = join(ROOT, '.venv', 'bin', 'python')
const SOURCES = ['src', 'playground', 'public', 'index.html', 'playground.html', 'vite.config.ts', 'package-lock.json']

function newest(path: string): number {
  if (!existsSync(path)) return 0
  const st = statSync(path)
  if (!st.isDirectory()) return st.mtimeMs
  let m = st.mtimeMs
  for (const entry of readdirSync(path)) m = Math.max(m, newest(join(path, entry)))
  return m
}

function buildIfStale(): void {
  const built = join(CLIENT, 'dist', 'index.html')
  const builtAt = existsSync(built) ? statSync(built).mtimeMs : 0
  const sourcesAt = Math.max(...SOURCES.map((s) => newest(join(CLIENT, s))))
  if (builtAt >= sourcesAt && existsSync(join(CLIENT, 'dist', 'playground.html'))) return
  console.log('[e2e] building the client (dist/ is missing or stale)')
  for (let attempt = 0; ; attempt++) {
    const r = spawnSync(join(CLIENT, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'warn'], { cwd: CLIENT, encoding: 'utf8' })
    if (r.status === 0) return
    const output = `${r.stdout}\n${r.stderr}`
    // another build of this project (a second test run) holds Vite's lock: wait for it
    if (/another Vite build process/i.test(output) && attempt < 60) {
      spawnSync('sleep', ['2'])
      continue
    }
    throw new Error(`[e2e] \`vite build\` failed:\n${output}`)
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

function run(args: string[], env: NodeJS.ProcessEnv, input?: string): void {
  const r = spawnSync(BACKTEST, args, { cwd: ROOT, env, input, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`[e2e] backtest ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`)
}

async function waitReady(url: string, server: ChildProcess, logs: () => string): Promise<void> {
  const deadline = Date.now() + 90_000
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`[e2e] the server exited (${server.exitCode}):\n${logs()}`)
    try {
      const res = await fetch(`${url}/readyz`)
      if (res.ok) return
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`[e2e] ${url}/readyz did not answer 200 within 90 s:\n${logs()}`)
}

interface FakeBinance {
  process: ChildProcess
  restUrl: string
  wsUrl: string
  controlUrl: string
}

/** Starts the fake Binance under the guard; resolves with its URLs (its first stdout line). */
function startFakeBinance(env: NodeJS.ProcessEnv): Promise<FakeBinance> {
  const child = spawn(
    process.execPath,
    [join(CLIENT, 'e2e', 'support', 'guard.mjs'), String(process.pid), PYTHON, '-m', 'tests.tasks.serve_fake_binance'],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let out = ''
  let err = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('did not start within 30 s')), 30_000)
    function fail(e: Error): void {
      clearTimeout(timer)
      child.kill('SIGTERM')
      reject(new Error(`[e2e] the fake Binance: ${e.message}\n${out}\n${err}`))
    }
    child.stderr?.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString()).slice(-10_000)
    })
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const line = out.split('\n')[0]
      if (!out.includes('\n') || !line) return
      clearTimeout(timer)
      child.stdout?.removeAllListeners('data')
      child.stdout?.resume()
      try {
        const urls = JSON.parse(line) as { rest_url: string; ws_url: string; control_url: string }
        resolve({ process: child, restUrl: urls.rest_url, wsUrl: urls.ws_url, controlUrl: urls.control_url })
      } catch (e) {
        fail(e as Error)
      }
    })
    child.once('exit', (code) => fail(new Error(`exited (${code})`)))
  })
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))])
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!existsSync(BACKTEST)) throw new Error(`[e2e] ${BACKTEST} is missing: run \`make install\` at the repository's root`)
  buildIfStale()

  const dataDir = mkdtempSync(join(tmpdir(), 'backtest-e2e-'))
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, EXECUTOR: 'inprocess', GRAPHQL_IDE: '1', MAX_CONCURRENT_JOBS: '1' }
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'CELERY_BROKER_URL', 'CORS_ORIGINS', 'JWT_SECRET', 'WATCH_LIST']) delete env[name]

  run(['db', 'migrate', '--seed-demo'], env)
  const user = { email: 'e2e@example.com', password: 'e2e-password-1234' }
  run(['users', 'create', user.email, '--password-stdin'], env, `${user.password}\n`)
  const admin = { email: 'e2e-admin@example.com', password: 'e2e-admin-password-1234' }
  run(['users', 'create', admin.email, '--admin', '--password-stdin'], env, `${admin.password}\n`)

  const fake = await startFakeBinance(env)
  const serveEnv: NodeJS.ProcessEnv = { ...env, BINANCE_REST_URL: fake.restUrl, BINANCE_WS_URL: fake.wsUrl }

  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  let output = ''
  const server = spawn(
    process.execPath,
    [join(CLIENT, 'e2e', 'support', 'guard.mjs'), String(process.pid), BACKTEST, 'serve', '--host', '127.0.0.1', '--port', String(port)],
    { cwd: ROOT, env: serveEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-20_000)
  }
  server.stdout?.on('data', keep)
  server.stderr?.on('data', keep)

  try {
    await waitReady(baseUrl, server, () => output)
  } catch (err) {
    server.kill('SIGTERM')
    await stopProcess(fake.process)
    throw err
  }
  project.provide('baseUrl', baseUrl)
  project.provide('user', user)
  project.provide('admin', admin)
  project.provide('fakeBinance', { restUrl: fake.restUrl, wsUrl: fake.wsUrl, controlUrl: fake.controlUrl })

  return async () => {
    if (server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r))
      server.kill('SIGTERM')
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))])
    }
    await stopProcess(fake.process)
    if (process.env.E2E_SERVER_LOG) console.log(output)
    rmSync(dataDir, { recursive: true, force: true })
  }
}
