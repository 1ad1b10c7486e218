import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LocalStack } from '../../local/local-stack.ts'
import { type GatewayProcess, spawnGateway } from '../support/gateway-process.ts'
import {
  ADMIN_KEY,
  chatBody,
  eventually,
  KEYS,
  postChat,
  startTestStack,
  testConfig,
} from '../support/gateway-stack.ts'

// Warm leases in a real Node gateway process over the DynamoDB emulator: a finished
// request's lease is kept for the next request (no new lease), then given back; a server
// that stops gives its warm leases back at once rather than at their TTL (3 s here).
const LINGER_MS = 1_000
let stack: LocalStack
let gateway: GatewayProcess | undefined

beforeAll(async () => {
  stack = await startTestStack({ fleet: 'h20=1x4', speed: 1 })
  await stack.ready()
})
afterAll(async () => {
  await gateway?.kill('SIGKILL')
  await stack?.stop()
})

async function liveLeases(): Promise<number> {
  const res = await fetch(`${stack.gatewayUrl}/admin/backends`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  })
  return ((await res.json()) as { data: { leases: number }[] }).data.reduce((sum, b) => sum + b.leases, 0)
}

async function complete(url: string): Promise<number> {
  const res = await postChat(url, KEYS.strict, chatBody())
  await res.text()
  return res.status
}

describe('Feature: warm leases in a Node gateway', () => {
  it('keeps one lease for requests one after another, gives it back after the linger, and at once on stop', async () => {
    gateway = await spawnGateway({
      ...stack.env,
      SPILLWAY_CONFIG: JSON.stringify(testConfig({ leaseLingerMs: LINGER_MS })),
    })

    // Sequential requests take over the same warm lease: one lease, not one per request.
    for (let i = 0; i < 3; i++) expect(await complete(gateway.url)).toBe(200)
    expect(await liveLeases()).toBe(1)
    expect(await eventually(async () => (await liveLeases()) === 0, LINGER_MS + 2_000, 50)).toBe(true)

    // A server that stops frees its warm lease before it exits.
    expect(await complete(gateway.url)).toBe(200)
    expect(await liveLeases()).toBe(1)
    await gateway.kill('SIGTERM')
    expect(await liveLeases()).toBe(0)
  })
})
