import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LocalStack } from '../../local/local-stack.ts'
import { destroyAwsClients } from '../../shared/aws/clients.ts'
import { DynamoTenantHoldStore } from '../../shared/holds/dynamo-tenant-hold-store.ts'
import { clientsFor } from '../support/aws.ts'
import { type GatewayProcess, spawnGateway } from '../support/gateway-process.ts'
import { chatBody, eventually, KEYS, postChat, startTestStack } from '../support/gateway-stack.ts'

// Defect 12: a tenant's concurrent *held* requests are bounded across every gateway
// instance (on Lambda each instance serves one request, so a per-process count means
// nothing): one record per tenant in the tenants table, entries that expire when their
// gateway dies. Three gateway processes, one busy slot, the real emulators.
const LIMITED = 'sk-holds-limited'
const SOLO = 'sk-holds-solo'
let stack: LocalStack
let gateways: GatewayProcess[] = []
let clients: ReturnType<typeof clientsFor>
let holds: DynamoTenantHoldStore
let busy: AbortController

beforeAll(async () => {
  stack = await startTestStack({
    fleet: 'h20=1x1',
    speed: 1,
    tenants: [
      { key: LIMITED, policy: { id: 'limited', mayQueue: true, maxConcurrentHolds: 2 } },
      { key: SOLO, policy: { id: 'solo', mayQueue: true, maxConcurrentHolds: 1 } },
    ],
  })
  await stack.ready()
  gateways = await Promise.all([1, 2].map(() => spawnGateway(stack.env)))
  clients = clientsFor(stack.aws)
  holds = new DynamoTenantHoldStore({ doc: clients.doc, tableName: stack.aws.names.tables.tenants })
  // The only slot stays busy (20,000 tokens at 6 ms each) until the end: every may-queue request is held.
  busy = new AbortController()
  const occupying = await postChat(
    stack.gatewayUrl,
    KEYS.strict,
    chatBody({ max_tokens: 20_000, stream: true }),
    {
      signal: busy.signal,
    },
  )
  expect(occupying.status).toBe(200)
}, 60_000)

afterAll(async () => {
  busy?.abort()
  await Promise.all(gateways.map((g) => g.kill()))
  if (clients) destroyAwsClients(clients)
  await stack?.stop()
})

type ErrorBody = { error: { message: string; type: string; param: unknown; code: string } }

describe('Tenant policy: maxConcurrentHolds', () => {
  it('holds at most the limit across three gateways; the rest get 429 too_many_holds, respond-async a 202', async () => {
    // Act: 9 held requests for a tenant limited to 2, spread over the three processes at once.
    const urls = [stack.gatewayUrl, ...gateways.map((g) => g.url)]
    const held = Array.from({ length: 9 }, async (_, i) => {
      const res = await postChat(urls[i % urls.length]!, LIMITED, chatBody(), {
        headers: { prefer: 'wait=4' },
      })
      return {
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        body: (await res.json()) as ErrorBody,
      }
    })
    expect(
      await eventually(async () => (await holds.live({ tenantId: 'limited', now: Date.now() })) === 2),
    ).toBe(true)
    const asyncRes = await postChat(urls[1]!, LIMITED, chatBody(), { headers: { prefer: 'respond-async' } })
    const results = await Promise.all(held)

    // Assess: two held until their wait ran out, seven refused at once with a clear reason.
    const timedOut = results.filter((r) => r.status === 503)
    const refused = results.filter((r) => r.status === 429)
    expect(timedOut).toHaveLength(2)
    expect(timedOut.every((r) => r.body.error.code === 'hold_timeout')).toBe(true)
    expect(refused).toHaveLength(7)
    for (const r of refused) {
      expect(r.body.error).toMatchObject({ type: 'rate_limit_error', code: 'too_many_holds', param: null })
      expect(r.body.error.message).toContain('respond-async')
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1)
    }
    expect(asyncRes.status).toBe(202)
    // Every hold that ended gave its place back.
    expect(await holds.live({ tenantId: 'limited', now: Date.now() })).toBe(0)
  }, 60_000)

  it("gives a SIGKILLed gateway's hold back once its entry expires (the lease TTL)", async () => {
    // Prepare: a gateway process holds the solo tenant's one place.
    const doomed = await spawnGateway(stack.env)
    void postChat(doomed.url, SOLO, chatBody(), { headers: { prefer: 'wait=60' } }).catch(() => undefined)
    expect(
      await eventually(async () => (await holds.live({ tenantId: 'solo', now: Date.now() })) === 1),
    ).toBe(true)

    // Act
    await doomed.kill('SIGKILL')
    const whileLive = await postChat(stack.gatewayUrl, SOLO, chatBody(), { headers: { prefer: 'wait=1' } })
    const freed = await eventually(
      async () => (await holds.live({ tenantId: 'solo', now: Date.now() })) === 0,
      10_000,
    )
    const afterExpiry = await postChat(stack.gatewayUrl, SOLO, chatBody(), { headers: { prefer: 'wait=1' } })

    // Assess: refused while the dead entry was live, held again (then timed out) after it expired.
    expect(whileLive.status).toBe(429)
    expect(((await whileLive.json()) as ErrorBody).error.code).toBe('too_many_holds')
    expect(freed).toBe(true)
    expect(afterExpiry.status).toBe(503)
    expect(((await afterExpiry.json()) as ErrorBody).error.code).toBe('hold_timeout')
  }, 60_000)
})
