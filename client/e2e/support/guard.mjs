// Runs a command in its own process group and ends that group when the process that started
// the guard (vitest) is gone, even when it died without running its teardown (SIGKILL, crash).
//   node guard.mjs <parent-pid> <command> [args...]
// SIGTERM/SIGINT to the guard end the group too (what globalSetup's teardown sends).
import { spawn } from 'node:child_process'

const [parentArg, command, ...args] = process.argv.slice(2)
const parent = Number(parentArg)
if (!parent || !command) {
  console.error('usage: node guard.mjs <parent-pid> <command> [args...]')
  process.exit(2)
}

const child = spawn(command, args, { stdio: 'inherit', detached: true })
let stopping = false

function stop(code) {
  if (stopping) return
  stopping = true
  try { process.kill(-child.pid, 'SIGTERM') } catch { /* already gone */ }
  const hard = setTimeout(() => {
    try { process.kill(-child.pid, 'SIGKILL') } catch { /* gone */ }
    process.exit(code)
  }, 5000)
  hard.unref()
  child.once('exit', () => {
    // the group may hold the server's worker processes: make sure they go too
    try { process.kill(-child.pid, 'SIGKILL') } catch { /* gone */ }
    process.exit(code)
  })
}

function parentAlive() {
  try {
    process.kill(parent, 0)
    return true
  } catch {
    return false
  }
}

process.on('SIGTERM', () => stop(0))
process.on('SIGINT', () => stop(0))
child.on('exit', (code) => { if (!stopping) process.exit(code ?? 1) })
setInterval(() => { if (!parentAlive()) stop(0) }, 500)
