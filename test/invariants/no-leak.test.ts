import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LocalStack } from '../../local/local-stack.ts'
import { spawnGateway } from '../support/gateway-process.ts'
import { ADMIN_KEY, chatBody, eventually, KEYS, postChat, startTestStack } from '../support/gateway-stack.ts'

// Invariant 2: a gateway that dies holding slots gives them back by itself,
// within the lease TTL (3 s in the test config), with nobody cleaning up.
let stack: LocalStack

beforeAll(async () => {
  stack = await startTestStack({ fleet: 'h20=1x2', speed: 1 })
  await stack.ready()
})
afterAll(async () => {
  await stack?.stop()
})

async function liveLeases(): Promise<number> {
  const res = await fetch(`${stack.gatewayUrl}/admin/backends`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  })
  return ((await res.json()) as { data: { leases: number }[] }).data.reduce((sum, b) => sum + b.leases, 0)
}

describe('Invariant: no leaked slot', () => {
  it("a SIGKILLed gateway's slots serve again within the lease TTL", async () => {
    // Prepare: a second gateway process takes both slots with long streams.
    const doomed = await spawnGateway(stack.env)
    const holders = await Promise.all(
      [1, 2].map(() => postChat(doomed.url, KEYS.strict, chatBody({ stream: true, max_tokens: 20_000 }))),
    )
    expect(holders.map((r) => r.status)).toEqual([200, 200])
    expect(await liveLeases()).toBe(2)
    const blocked = await postChat(stack.gatewayUrl, KEYS.strict, chatBody())
    expect(blocked.status).toBe(429)

    // Act: the process dies without releasing anything.
    const killedAt = Date.now()
    await doomed.kill('SIGKILL')
    for (const holder of holders) await holder.body?.cancel().catch(() => undefined)

    // Assess: the leases are still recorded, then expire and the slots serve again.
    expect(await liveLeases()).toBe(2)
    const recovered = await eventually(
      async () => {
        const res = await postChat(stack.gatewayUrl, KEYS.strict, chatBody())
        await res.text()
        return res.status === 200
      },
      8_000,
      100,
    )
    expect(recovered).toBe(true)
    // Not before expiry: the last renewal (every TTL/3) left at least 2/3 of the TTL.
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1_900)
  })
})
