import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../../infra/constructs/functions.ts'

/**
 * `npm run demo` in its fast mode, as a user would run it (a child process,
 * output to a pipe, so the plain display): it must finish, say nothing was
 * lost and that its counts match /metrics, and exit 0 (it exits 1 otherwise).
 */
describe('npm run demo', () => {
  it('runs the spill scenario in fast mode and ends with nothing lost, matching /metrics', async () => {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'scripts/demo.ts'), '--fast'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk) => (output += String(chunk)))
    child.stderr.on('data', (chunk) => (output += String(chunk)))
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))

    expect(output).toContain('/dashboard in a browser while it runs')
    expect(output).toMatch(/requests +(\d+) sent, \1 answered 200, 0 lost/)
    expect(output).toMatch(/primary\/h20 +\d+/)
    expect(output).toMatch(/queued\/\w+ +\d+/)
    expect(output).toContain('spillway_requests_total matches these counts')
    expect(output).toMatch(/after kill +\d+ on h20-1/)
    expect(output).not.toMatch(/after kill .*\d+ on h20-2/)
    expect(output).toContain('nothing lost')
    expect(code).toBe(0)
  }, 150_000)
})
