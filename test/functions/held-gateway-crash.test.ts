import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chatBody, eventually, type JobStack, KEYS, startJobStack } from '../jobs/support/job-stack.ts'
import { type GatewayProcess, spawnGateway } from '../support/gateway-process.ts'
import { postChat } from '../support/gateway-stack.ts'

// The worker is the durable fallback for held jobs: while a gateway holds a job's client it
// keeps the job's `heldUntil` marker fresh and the workers leave the job to it; a gateway
// SIGKILLed mid-hold leaves a marker that lapses, and a worker runs the job once.
let stack: JobStack
let gateway: GatewayProcess | undefined

beforeAll(async () => {
  stack = await startJobStack({ fleet: 'h20=1x2' })
})
afterAll(async () => {
  await gateway?.kill()
  await stack?.stop()
})

describe('a gateway that dies while holding a request', () => {
  it('leaves its job to the workers, which run it exactly once after the marker lapses', async () => {
    const backend = stack.fleet.backends[0]
    if (!backend) throw new Error('no backend')
    gateway = await spawnGateway({ ...stack.processEnv, SPILLWAY_ADMIN_KEY: 'sk-test-admin' })
    const unblock = await stack.blockSlots(backend.id, 2)
    await stack.startWorkers()
    const before = stack.simRequests()
    const client = new AbortController()
    const res = await postChat(gateway.url, KEYS.queue, chatBody({ stream: true }), { signal: client.signal })
    expect(res.status).toBe(200)
    const jobId = res.headers.get('x-spillway-job-id') ?? ''
    const job = await stack.adapters.jobs.get(jobId)
    expect(job).toMatchObject({ status: 'queued', heldUntil: expect.any(Number) })

    await gateway.kill('SIGKILL')
    gateway = undefined
    client.abort()
    // The last marker the dead gateway wrote: no worker may start the job before it lapses.
    const lapsesAt = (await stack.adapters.jobs.get(jobId))?.heldUntil ?? Number.POSITIVE_INFINITY
    await unblock()
    expect(
      await eventually(
        async () => (await stack.adapters.jobs.get(jobId))?.status === 'succeeded',
        30_000,
        200,
      ),
    ).toBe(true)
    const done = await stack.adapters.jobs.get(jobId)
    expect(done?.startedAt).toBeGreaterThanOrEqual(lapsesAt)
    expect(done?.attempts).toBe(1)
    expect(stack.simRequests()).toBe(before + 1)
  }, 60_000)
})
