import { spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const START = fileURLToPath(new URL('../../local/start.ts', import.meta.url))

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (check()) return true
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return check()
}

// Spawns the whole stack as a process: generous bounds for a loaded machine.
describe('npm start processes', { timeout: 150_000 }, () => {
  it('runs the emulators, the fleet and the workers outside the gateway process, and none outlives a killed gateway', async () => {
    // Prepare
    const child = spawn(process.execPath, ['--experimental-strip-types', START, '--speed', '0.05'], {
      env: {
        ...process.env,
        PORT: '0',
        SPILLWAY_FLEET: 'h20=1x1',
        SPILLWAY_STATE_FILE: join(tmpdir(), `spillway-processes-test-${process.pid}.json`),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const output: string[] = []
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (text) => {
        output.push(text)
        if (/^\s+processes\s/.test(text)) resolve(text)
      })
      child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output.join('\n')}`)))
    })
    const pid = (name: string) => Number(new RegExp(`${name} (\\d+)`).exec(line)?.[1])
    const parts = [pid('emulators'), pid('fleet'), pid('workers')]

    // Assess: four processes, the gateway alone in the one npm start runs.
    expect(pid('gateway')).toBe(child.pid)
    expect(new Set([child.pid, ...parts]).size).toBe(4)
    for (const part of parts) expect(alive(part)).toBe(true)

    // Act: the gateway dies without a chance to stop anything.
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGKILL')
    await exited

    // Assess: each child notices its parent is gone and exits, freeing its ports.
    expect(await until(() => parts.every((part) => !alive(part)), 15_000)).toBe(true)
  })

  it('stops by itself when the process that ran it dies during start-up, leaving no process behind', async () => {
    // Prepare: a launcher (as npm is) that starts the stack and exits once it has begun, long before it is up.
    const log = join(tmpdir(), `spillway-orphan-test-${process.pid}.log`)
    const launch = [
      "const fs = require('node:fs')",
      `const out = fs.openSync(${JSON.stringify(log)}, 'w')`,
      `const c = require('node:child_process').spawn(process.execPath, ['--experimental-strip-types', ${JSON.stringify(START)}, '--speed', '0.05'], { stdio: ['ignore', out, 'ignore'] })`,
      'console.log(c.pid)',
      `setInterval(() => { if (fs.readFileSync(${JSON.stringify(log)}, 'utf8').includes('starting the local stack')) process.exit(0) }, 20)`,
    ].join('\n')
    const launcher = spawn(process.execPath, ['-e', launch], {
      env: {
        ...process.env,
        PORT: '0',
        SPILLWAY_FLEET: 'h20=1x1',
        SPILLWAY_STATE_FILE: join(tmpdir(), `spillway-orphan-test-${process.pid}.json`),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const pid = await new Promise<number>((resolve) =>
      createInterface({ input: launcher.stdout }).once('line', (text) => resolve(Number(text))),
    )

    // Act: nothing; the launcher is gone.
    const gone = await until(() => !alive(pid), 100_000)

    // Assess
    if (!gone) process.kill(pid, 'SIGTERM')
    expect(gone).toBe(true)
  })
})
