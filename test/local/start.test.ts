import { spawn } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'

const START = fileURLToPath(new URL('../../local/start.ts', import.meta.url))
const STATE_FILE = join(tmpdir(), `spillway-start-test-${process.pid}.json`)
const REQUIRE_NODE = fileURLToPath(new URL('../../scripts/require-node.mjs', import.meta.url))

// Each case spawns the stack (or its start-up checks) as a process: generous bounds for a loaded machine.
describe('npm start', { timeout: 120_000 }, () => {
  it('brings the whole stack up, serves the dev key, and stops cleanly on SIGINT', async () => {
    // Prepare
    const child = spawn(process.execPath, ['--experimental-strip-types', START, '--speed', '0.05'], {
      env: { ...process.env, PORT: '0', SPILLWAY_FLEET: 'h20=1x1', SPILLWAY_STATE_FILE: STATE_FILE },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const output: string[] = []
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const gatewayUrl = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        output.push(line)
        const match = /^\s+gateway\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(line)
        if (match?.[1]) resolve(match[1])
      })
      child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output.join('\n')}`)))
    })

    // Act
    const client = new OpenAI({ baseURL: `${gatewayUrl}/v1`, apiKey: 'sk-spillway-dev', maxRetries: 0 })
    const completion = await client.chat.completions.create({
      model: 'deepseek-r1-distill-llama-8b',
      messages: [{ role: 'user', content: 'Hello' }],
      max_tokens: 4,
    })
    // Overflow: more concurrent requests than the one slot; the queued ones run on the local worker.
    const post = () =>
      fetch(`${gatewayUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          authorization: 'Bearer sk-spillway-dev',
          'content-type': 'application/json',
          prefer: 'respond-async',
        },
        body: JSON.stringify({
          model: 'deepseek-r1-distill-llama-8b',
          messages: [{ role: 'user', content: 'Hello' }],
          max_tokens: 200,
        }),
      })
    const burst = await Promise.all([1, 2, 3, 4, 5, 6].map(post))
    const queued = burst.filter((res) => res.status === 202)
    expect(queued.length).toBeGreaterThan(0)
    for (const res of queued) {
      const location = res.headers.get('location')
      let status = 'queued'
      for (let i = 0; i < 10 && status !== 'succeeded' && status !== 'failed'; i++) {
        const job = await fetch(`${gatewayUrl}${location}?wait=5`, {
          headers: { authorization: 'Bearer sk-spillway-dev' },
        })
        status = ((await job.json()) as { status: string }).status
      }
      expect(status).toBe('succeeded')
    }
    child.kill('SIGINT')
    const code = await exited

    // Assess
    expect(completion.choices[0]?.message.content).toBeTruthy()
    expect(output.join('\n')).toMatch(/Spillway is up in [\d.]+ s/)
    expect(output.join('\n')).toMatch(/backend\s+h20-1\s+http:\/\/127\.0\.0\.1:\d+/)
    expect(output.join('\n')).toContain('Spillway stopped.')
    expect(code).toBe(0)
  })

  /** `local/start.ts` run to its end; what a user sees on stderr and the exit code. */
  const startAndWait = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [START, ...args], {
        env: { ...process.env, SPILLWAY_FLEET: 'h20=1x1', ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      })
      let stderr = ''
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
      })
      child.once('exit', (code) => resolve({ code, stderr }))
    })

  it('says in one line that the port is in use and exits 1, without a stack trace', async () => {
    // Prepare
    const busy = createServer()
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
    const port = (busy.address() as AddressInfo).port
    try {
      // Act
      const run = await startAndWait([], { PORT: String(port) })

      // Assess
      expect(run.code).toBe(1)
      expect(run.stderr.trim().split('\n')).toEqual([
        `spillway: port ${port} on 127.0.0.1 is in use; stop what holds it, or set PORT (PORT=0 picks a free one)`,
      ])
    } finally {
      busy.close()
    }
  })

  it('refuses an unknown flag or a bad setting in one line with exit 2', async () => {
    const unknown = await startAndWait(['--bogus'], { PORT: '0' })
    const secret = await startAndWait([], { PORT: '0', SPILLWAY_WEBHOOK_SECRET: 'not-a-secret' })
    for (const run of [unknown, secret]) {
      expect(run.code).toBe(2)
      expect(run.stderr).toMatch(/^spillway: .+\nRun `npm start -- --help` for the options\.\n$/)
      expect(run.stderr).not.toMatch(/^\s+at /m)
    }
    expect(unknown.stderr).toContain("'--bogus'")
    expect(secret.stderr).toContain('SPILLWAY_WEBHOOK_SECRET')
  })

  it('refuses to start on an older Node with a message naming the version it needs', async () => {
    // The check is plain JavaScript; an older runtime is simulated by overriding the version it reads.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.20.2"})',
        REQUIRE_NODE,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    expect(code).toBe(1)
    expect(stderr).toContain('Spillway needs Node.js 24')
    expect(stderr).toContain('this is Node.js 20.20.2')
  })
})
