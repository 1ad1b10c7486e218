import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LocalStack } from '../../local/local-stack.ts'
import { destroyAwsClients } from '../../shared/aws/clients.ts'
import { shardItemId } from '../../shared/capacity/slot-shards.ts'
import { clientsFor } from '../support/aws.ts'
import { ADMIN_KEY, chatBody, eventually, KEYS, postChat, startTestStack } from '../support/gateway-stack.ts'

// Invariant 1 under operator actions: removing a backend, its agent coming back and the
// admin re-adding it never hand out slots that running requests still hold; and a holder
// whose lease is gone stops, because its slot may already be someone else's.
let stack: LocalStack
let clients: ReturnType<typeof clientsFor>

beforeAll(async () => {
  // Real-time simulator (6 ms a token): a 500-token answer holds its slot for about 3 s.
  stack = await startTestStack({ fleet: 'h20=1x2', speed: 1 })
  await stack.ready()
  clients = clientsFor(stack.aws)
}, 60_000)
afterAll(async () => {
  if (clients) destroyAwsClients(clients)
  await stack?.stop()
})

const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${stack.gatewayUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
  })
const backendItem = async () => {
  const res = await admin('/admin/backends')
  const { data } = (await res.json()) as { data: { id: string; state: string; leases: number }[] }
  return data.find((b) => b.id === 'h20-1')
}
const long = (extra: Record<string, unknown> = {}) =>
  postChat(stack.gatewayUrl, KEYS.strict, chatBody({ max_tokens: 500, ...extra })).then(async (res) => ({
    status: res.status,
    body: await res.text(),
  }))

describe('Invariant: no oversubscription across deregistration', () => {
  it('a backend removed while busy, heartbeated by its agent and re-added by the admin never runs more than its slots', async () => {
    // Prepare: both slots busy with long answers.
    const sim = stack.fleet.backends[0]!
    sim.reset()
    const running = [long(), long()]
    expect(await eventually(async () => (await backendItem())?.leases === 2)).toBe(true)

    // Act: the admin removes it; its agent keeps heartbeating (before the fix the agent found it
    // gone and registered it again, empty); then the admin registers it again.
    expect((await admin('/admin/backends/h20-1', { method: 'DELETE' })).status).toBe(204)
    await new Promise((resolve) => setTimeout(resolve, 800))
    const whileRemoved = await Promise.all([long(), long()])
    const readd = await admin('/admin/backends', {
      method: 'POST',
      body: JSON.stringify({
        id: sim.id,
        url: sim.url,
        hardware: sim.hardware,
        models: sim.models,
        maxConcurrency: sim.maxConcurrency,
      }),
    })
    // The gateway's cached view (≤ snapshotMaxAgeMs old) must have seen the re-registration,
    // else it still thinks the backend is removed and answers 503 instead of 429.
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const whileFull = await Promise.all([long(), long()])
    const first = await Promise.all(running)

    // Assess
    expect(readd.status).toBe(201)
    expect(first.map((r) => r.status)).toEqual([200, 200])
    expect(whileRemoved.map((r) => r.status).every((s) => s === 503 || s === 429)).toBe(true)
    expect(whileFull.map((r) => r.status)).toEqual([429, 429])
    expect(sim.state().peak).toBeLessThanOrEqual(2)
    expect(sim.state().totals.requests).toBe(2)
  })
})

describe('Invariant: a holder that loses its lease stops', () => {
  it('ends a stream whose lease was reclaimed with an SSE error event and aborts the backend call', async () => {
    // Prepare
    const sim = stack.fleet.backends[0]!
    expect(await eventually(async () => (await backendItem())?.leases === 0)).toBe(true)
    sim.reset()
    const res = await postChat(stack.gatewayUrl, KEYS.strict, chatBody({ max_tokens: 2000, stream: true }))
    const reading = res.text()
    const table = stack.aws.names.tables.backends
    expect(await eventually(async () => (await backendItem())?.leases === 1)).toBe(true)
    // The backend's one slot shard (it has at most 16 slots) holds the lease.
    const shard = shardItemId('h20-1', 0)
    const { Item } = await clients.doc.send(new GetCommand({ TableName: table, Key: { id: shard } }))
    const leaseIds = Object.keys((Item?.leases ?? {}) as Record<string, number>)

    // Act: another process reclaims the lease (as it may once the lease expired unrenewed).
    await clients.doc.send(
      new UpdateCommand({
        TableName: table,
        Key: { id: shard },
        UpdateExpression: 'REMOVE #leases.#lease',
        ExpressionAttributeNames: { '#leases': 'leases', '#lease': leaseIds[0]! },
      }),
    )
    const body = await reading

    // Assess: the next renewal (every TTL/3 = 1 s) finds it gone and stops the request.
    expect(res.status).toBe(200)
    expect(body).toMatch(/data: \{"error":\{[^\n]*\}\}\n\n$/)
    expect(body).not.toContain('[DONE]')
    expect(await eventually(() => sim.state().totals.aborted === 1)).toBe(true)
    expect(sim.state().totals.completed).toBe(0)
  })
})
