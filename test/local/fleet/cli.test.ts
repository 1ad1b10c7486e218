import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import { type Receiver, startReceiver } from './gateway-receiver.ts'
import { waitUntil } from './sim-client.ts'

const CLI = new URL('../../../local/fleet/cli.ts', import.meta.url).pathname

let child: ChildProcess | undefined
let receiver: Receiver | undefined
afterEach(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM')
    await once(child, 'exit')
  }
  await receiver?.stop()
})

function run(args: string[]) {
  child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  return createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
}

describe('fleet CLI', () => {
  it('prints each backend and serves until SIGTERM', async () => {
    const lines = run(['--fleet', 'h20=1x2,cpu=1x1', '--speed', '0', '--json'])
    const backends = []
    for (let i = 0; i < 2; i++) backends.push(JSON.parse((await lines.next()).value as string))
    expect(backends.map((backend) => [backend.id, backend.maxConcurrency])).toEqual([
      ['h20-1', 2],
      ['cpu-1', 1],
    ])
    for (const backend of backends) expect((await fetch(`${backend.url}/health`)).status).toBe(200)

    child?.kill('SIGTERM')
    const [code] = await once(child!, 'exit')
    expect(code).toBe(0)
  })

  it('registers its backends with a gateway when given one', async () => {
    receiver = await startReceiver('sk-cli-test')
    run(['--fleet', 'l40s=2x1', '--speed', '0', '--gateway', receiver.url, '--agent-key', 'sk-cli-test'])
    await waitUntil(async () => (receiver?.registrations.length === 2 ? true : undefined), 10_000)
    expect(receiver.registrations.map((registration) => (registration as { id: string }).id).sort()).toEqual([
      'l40s-1',
      'l40s-2',
    ])
  })

  it('exits with status 2 and says why for a bad spec', async () => {
    child = spawn(process.execPath, [CLI, '--fleet', 'tpu=1x1'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr?.on('data', (data: Buffer) => {
      stderr += data.toString()
    })
    const [code] = await once(child, 'exit')
    expect(code).toBe(2)
    expect(stderr).toContain('unknown hardware class "tpu"')
  })
})
