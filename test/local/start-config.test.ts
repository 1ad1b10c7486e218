import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import OpenAI from 'openai'
import { afterAll, describe, expect, it } from 'vitest'

const START = fileURLToPath(new URL('../../local/start.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'spillway-start-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A model nobody else uses, on H20 with a 4-bit CPU variant, and tenants that may queue by default. */
const ACME = {
  hardwareClasses: [
    { id: 'h20', kind: 'gpu' },
    { id: 'cpu', kind: 'cpu' },
  ],
  models: [
    {
      id: 'acme-chat-7b',
      tiers: [
        { hardware: ['h20'], model: 'acme-chat-7b' },
        { hardware: ['cpu'], model: 'acme-chat-7b-q4', degraded: true },
      ],
    },
  ],
  tenantDefaults: { jobDeadlineSeconds: 600 },
}

function writeFile(name: string, content: string): string {
  const file = join(dir, name)
  writeFileSync(file, content)
  return file
}

interface Started {
  readonly child: ChildProcess
  readonly output: string[]
  readonly exited: Promise<number | null>
}

function start(args: string[], env: Record<string, string>): Started {
  const child = spawn(process.execPath, ['--experimental-strip-types', START, '--speed', '0.05', ...args], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  createInterface({ input: child.stdout }).on('line', (line) => output.push(line))
  createInterface({ input: child.stderr }).on('line', (line) => output.push(line))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, output, exited }
}

function gatewayUrl(started: Started): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      for (const line of started.output) {
        const match = /^\s+gateway\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(line)
        if (match?.[1]) {
          clearInterval(timer)
          resolve(match[1])
        }
      }
    }, 20)
    void started.exited.then((code) => {
      clearInterval(timer)
      reject(new Error(`npm start exited with ${code}:\n${started.output.join('\n')}`))
    })
  })
}

// Each case spawns the stack (four processes) or its start-up checks: generous bounds for a loaded machine.
describe('npm start -- --config FILE', { timeout: 120_000 }, () => {
  it('serves the models of its own configuration file end to end', async () => {
    // Prepare
    const file = writeFile('acme.json', JSON.stringify(ACME))
    const started = start(['--config', file], {
      SPILLWAY_FLEET: 'h20=1x1,cpu=1x1',
      // The flag wins over the environment variable.
      SPILLWAY_CONFIG_FILE: join(dir, 'missing.json'),
    })
    const url = await gatewayUrl(started)
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sk-spillway-dev', maxRetries: 0 })

    try {
      // Act
      const primary = await client.chat.completions
        .create({ model: 'acme-chat-7b', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 4 })
        .withResponse()
      // Holding the only H20 slot sends the next request to the CPU variant.
      const holder = new AbortController()
      const stream = await client.chat.completions.create(
        {
          model: 'acme-chat-7b',
          messages: [{ role: 'user', content: 'Hi' }],
          max_tokens: 20_000,
          stream: true,
        },
        { signal: holder.signal },
      )
      const first = await stream[Symbol.asyncIterator]().next()
      const fallback = await client.chat.completions
        .create({ model: 'acme-chat-7b', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 4 })
        .withResponse()
      holder.abort()
      const models = (await (
        await fetch(`${url}/v1/models`, { headers: { authorization: 'Bearer sk-spillway-dev' } })
      ).json()) as {
        data: { id: string }[]
      }

      // Assess
      expect(primary.response.status).toBe(200)
      expect(primary.data.choices[0]?.message.content).toBeTruthy()
      expect(primary.response.headers.get('x-spillway-route')).toBe('primary')
      expect(primary.response.headers.get('x-spillway-hardware')).toBe('h20')
      expect(primary.response.headers.get('x-spillway-backend')).toBe('h20-1')
      expect(first.done).toBe(false)
      expect(fallback.data.choices[0]?.message.content).toBeTruthy()
      expect(fallback.response.headers.get('x-spillway-route')).toBe('fallback')
      expect(fallback.response.headers.get('x-spillway-hardware')).toBe('cpu')
      expect(fallback.response.headers.get('x-spillway-backend')).toBe('cpu-1')
      expect(models.data.map((m) => m.id)).toEqual(['acme-chat-7b'])
      const output = started.output.join('\n')
      expect(output).toContain(`config ${file} (from --config): acme-chat-7b`)
      expect(output).toMatch(/backend\s+h20-1\s+\S+\s+h20, 1 slots, acme-chat-7b$/m)
      expect(output).toMatch(/backend\s+cpu-1\s+\S+\s+cpu, 1 slots, acme-chat-7b-q4$/m)
    } finally {
      started.child.kill('SIGINT')
    }
    expect(await started.exited).toBe(0)
  })

  it('refuses to start on a broken file, naming the file and the reason', async () => {
    // Prepare
    const file = writeFile(
      'broken.json',
      '{\n  "hardwareClasses": [{ "id": "h20", "kind": "gpu" }],\n  "models": [,]\n}',
    )

    // Act
    const started = start([], { SPILLWAY_CONFIG_FILE: file })

    // Assess
    expect(await started.exited).toBe(1)
    expect(started.output.join('\n')).toContain(
      `Spillway failed to start: Invalid Spillway config file ${file}:`,
    )
    expect(started.output.join('\n')).toMatch(/invalid JSON/)
  })

  it('refuses a fleet class the configuration does not declare', async () => {
    // Act
    const started = start(['--config', writeFile('acme-fleet.json', JSON.stringify(ACME))], {
      SPILLWAY_FLEET: 'h20=1x1,h100=1x1',
    })

    // Assess
    expect(await started.exited).toBe(1)
    expect(started.output.join('\n')).toContain(
      'fleet "h20=1x1,h100=1x1" (SPILLWAY_FLEET) does not fit the config: "h100" is not a hardware class of the config (it declares: h20, cpu)',
    )
  })
})
