import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_CONFIG } from '../../shared/config/gateway-config.ts'
import { isSignedWith, startWebhookReceiver } from '../jobs/support/webhook-receiver.ts'

/**
 * `npm start` as a user runs it, then the `spillway` CLI as separate processes that
 * find the stack through the state file `npm start` writes, with no other setting
 * (the path is per test run so parallel test files never share one).
 */
const MODEL = 'deepseek-r1-distill-llama-8b'
const DEV_KEY = 'sk-spillway-dev'
const dir = mkdtempSync(join(tmpdir(), 'spillway-cli-'))
const stateFile = join(dir, 'local-stack.json')
const cliEnv = (() => {
  // Nothing of a stack's own settings: the CLI must find it through the state file alone.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(SPILLWAY_|AWS_)/.test(name)),
  ) as Record<string, string>
  return { ...env, SPILLWAY_STATE_FILE: stateFile }
})()

let npm: ChildProcess
let gatewayUrl: string
let webhookKey: string
const output: string[] = []

interface Run {
  code: number
  stdout: string
  stderr: string
}

function spillway(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--no-warnings', 'scripts/spillway.ts', ...args],
      { env: cliEnv, timeout: 90_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr })
      },
    )
  })
}

const json = async <T>(...args: string[]): Promise<T> => {
  const run = await spillway(...args, '--json')
  expect(run.code, run.stderr).toBe(0)
  return JSON.parse(run.stdout) as T
}

const postChat = (headers: Record<string, string>, body: Record<string, unknown>, signal?: AbortSignal) =>
  fetch(`${gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${DEV_KEY}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x' }], ...body }),
    ...(signal ? { signal } : {}),
  })

/** A long stream on the only slot (h20=1x1), so the next async request is queued; abort() frees it. */
async function holdTheSlot(): Promise<AbortController> {
  const hold = new AbortController()
  const res = await postChat({}, { stream: true, max_tokens: 50_000 }, hold.signal)
  expect(res.status).toBe(200)
  return hold
}

beforeAll(async () => {
  npm = spawn('npm', ['start', '--', '--speed', '0.05'], {
    env: { ...process.env, PORT: '0', SPILLWAY_FLEET: 'h20=1x1', SPILLWAY_STATE_FILE: stateFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: npm.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      output.push(line)
      const gateway = /^\s+gateway\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(line)
      if (gateway?.[1]) gatewayUrl = gateway[1]
      const key = /^\s+webhook key\s+(whsec_\S+)/.exec(line)
      if (key?.[1]) webhookKey = key[1]
      if (line.startsWith('Ctrl-C stops everything')) resolve()
    })
    npm.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output.join('\n')}`)))
  })
}, 180_000)
afterAll(() => {
  if (npm.exitCode === null) npm.kill('SIGINT')
  rmSync(dir, { recursive: true, force: true })
})

// Each case starts the CLI as a process several times: generous bounds for a loaded machine.
describe('spillway CLI against the running local stack, with no setting', { timeout: 180_000 }, () => {
  it('keys create --tenant t1 --may-queue prints a key that works at once; revoke stops it within the key cache time', async () => {
    // Act
    const created = await spillway('keys', 'create', '--tenant', 't1', '--may-queue')

    // Assess
    expect(created.code, created.stderr).toBe(0)
    const key = created.stdout.trim()
    expect(key).toMatch(/^sk-spw-/)
    const client = new OpenAI({ baseURL: `${gatewayUrl}/v1`, apiKey: key, maxRetries: 0 })
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 2,
    })
    expect(completion.choices[0]?.message.content).toBeTruthy()
    expect(
      (await json<{ tenants: { id: string; mayQueue: boolean }[] }>('keys', 'list')).tenants,
    ).toContainEqual(expect.objectContaining({ id: 't1', mayQueue: true }))

    const revokeStartedAt = Date.now()
    const revoked = await spillway('keys', 'revoke', key)
    expect(revoked.code, revoked.stderr).toBe(0)
    expect(revoked.stderr).toContain('within 10 s')
    let status = 200
    let lastAcceptedAt = revokeStartedAt
    while (status === 200 && Date.now() - revokeStartedAt < 60_000) {
      const sentAt = Date.now()
      status = (await fetch(`${gatewayUrl}/v1/models`, { headers: { authorization: `Bearer ${key}` } }))
        .status
      if (status === 200) lastAcceptedAt = sentAt
      else break
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    expect(status).toBe(401)
    // The documented bound: no request sent 10 s (the key cache) after the revoke is accepted.
    expect(lastAcceptedAt - revokeStartedAt).toBeLessThan(10_000)
  })

  it('backends list --json, drain and undrain', async () => {
    const { data } = await json<{ data: { id: string; state: string; maxConcurrency: number }[] }>(
      'backends',
      'list',
    )
    expect(data).toEqual([expect.objectContaining({ id: 'h20-1', state: 'active', maxConcurrency: 1 })])
    expect(await json('backends', 'drain', 'h20-1')).toMatchObject({ id: 'h20-1', state: 'draining' })
    expect(await json('backends', 'undrain', 'h20-1')).toMatchObject({ id: 'h20-1', state: 'active' })
    const table = await spillway('backends', 'list')
    expect(table.stdout).toMatch(/^ID\s+HARDWARE\s+STATE/m)
    expect(table.stdout).toMatch(/^h20-1\s+h20\s+active\s+1\s/m)
    const missing = await spillway('backends', 'drain', 'no-such-backend')
    expect(missing.code).toBe(1)
    expect(missing.stderr.trim().split('\n')).toEqual([expect.stringContaining('No such backend')])
  })

  it('jobs show and cancel a queued job, and capacity shows the slot it waits for', async () => {
    // Prepare: a long stream holds the only slot, so an async request is queued.
    const hold = await holdTheSlot()
    try {
      const accepted = await postChat({ prefer: 'respond-async' }, { max_tokens: 2 })
      expect(accepted.status).toBe(202)
      const { id } = (await accepted.json()) as { id: string }

      // Act + Assess
      expect(await json('jobs', 'show', id)).toMatchObject({ id, status: 'queued', tenant: 'dev' })
      const capacity = await json<{ hardware: Record<string, { slots: number; leases: number }> }>('capacity')
      expect(capacity.hardware.h20).toEqual({ backends: 1, slots: 1, leases: 1 })
      expect(await json('jobs', 'cancel', id)).toMatchObject({ id, status: 'cancelled' })
      expect((await spillway('jobs', 'show', id)).stdout).toMatch(/^status\s+cancelled$/m)
      const again = await spillway('jobs', 'show', 'job_doesnotexist0')
      expect([again.code, again.stderr.trim()]).toEqual([1, 'spillway: no job with id "job_doesnotexist0"'])
    } finally {
      hold.abort()
    }
  })

  it('a webhook from the stack verifies with the standardwebhooks library and the secret npm start printed', async () => {
    const receiver = await startWebhookReceiver([204])
    const hold = await holdTheSlot()
    try {
      const res = await postChat(
        { prefer: 'respond-async', 'x-spillway-webhook': receiver.url },
        { max_tokens: 2 },
      )
      expect(res.status).toBe(202)
      const { id } = (await res.json()) as { id: string }
      hold.abort()
      for (let i = 0; i < 150 && receiver.received.length === 0; i++)
        await new Promise((r) => setTimeout(r, 100))
      expect(receiver.received).toHaveLength(1)
      expect(receiver.received[0]?.headers['webhook-id']).toBe(id)
      expect(webhookKey).toMatch(/^whsec_/)
      expect(isSignedWith(receiver.received[0], webhookKey)).toBe(true)
    } finally {
      hold.abort()
      await receiver.stop()
    }
  })

  it('config check passes a good file and lists every problem of a broken one', async () => {
    const good = join(dir, 'good.json')
    const broken = join(dir, 'broken.json')
    writeFileSync(good, JSON.stringify(DEFAULT_CONFIG))
    writeFileSync(
      broken,
      JSON.stringify({
        ...DEFAULT_CONFIG,
        models: [{ id: 'm', tiers: [{ hardware: ['tpu'], model: 'm' }] }],
      }),
    )
    const ok = await spillway('config', 'check', good)
    expect([ok.code, ok.stdout]).toEqual([0, expect.stringMatching(/good\.json: ok \(\d+ models/)])
    const bad = await spillway('config', 'check', broken)
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('unknown hardware class "tpu"')
  })

  it('an unknown command or flag is one clear line and exit 2', async () => {
    for (const args of [['frobnicate'], ['backends', 'list', '--bogus'], ['keys', 'revoke']]) {
      const run = await spillway(...args)
      expect({ args, code: run.code }).toEqual({ args, code: 2 })
      const lines = run.stderr.trim().split('\n')
      expect(lines[0]).toMatch(/^spillway: /)
      expect(run.stderr).not.toMatch(/^\s+at /m)
    }
  })

  it('kill -TERM to the npm start process stops the stack, frees the port and removes the state file', async () => {
    expect(existsSync(stateFile)).toBe(true)
    const port = Number(new URL(gatewayUrl).port)
    const exited = new Promise((resolve) => npm.once('exit', resolve))
    npm.kill('SIGTERM')
    await exited
    let free = false
    for (let i = 0; i < 60 && !free; i++) {
      free = await new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1')
        socket.once('connect', () => {
          socket.destroy()
          resolve(false)
        })
        socket.once('error', () => resolve(true))
      })
      if (!free) await new Promise((r) => setTimeout(r, 250))
    }
    expect(free).toBe(true)
    expect(existsSync(stateFile)).toBe(false)
    const after = await spillway('backends', 'list')
    expect(after.code).toBe(1)
    expect(after.stderr).toContain('no running local stack found')
  })
})
