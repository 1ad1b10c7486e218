import { SendMessageCommand } from '@aws-sdk/client-sqs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chatBody, type JobStack, KEYS, postChat, startJobStack } from './support/job-stack.ts'

// No workers run in this file: whatever is queued stays queued, so the counts are exact
// (fauxqs counts precisely; real SQS approximates).
let stack: JobStack
const admin = (key = 'sk-test-admin') =>
  fetch(`${stack.gatewayUrl}/admin/queues`, { headers: { authorization: `Bearer ${key}` } })

interface QueuesBody {
  lanes: { lane: string; waiting: number; delayed: number; inFlight: number; deadLettered: number }[]
  jobs: { queued: { count: number; capped: boolean }; running: { count: number; capped: boolean } }
}

beforeAll(async () => {
  stack = await startJobStack({ fleet: 'h20=1x1' })
})
afterAll(async () => {
  await stack?.stop()
})

describe('GET /admin/queues', () => {
  it('needs the admin key', async () => {
    expect((await admin('sk-test-queue')).status).toBe(401)
  })

  it('reports the backlog per lane and the open jobs, and what sits in the dead-letter queues', async () => {
    const backend = stack.fleet.backends[0]
    if (!backend) throw new Error('no backend')
    const unblock = await stack.blockSlots(backend.id, 1)
    try {
      const spill = (key: string, n: number) =>
        Promise.all(
          Array.from({ length: n }, () =>
            postChat(stack.gatewayUrl, key, chatBody(), { prefer: 'respond-async' }).then((r) => r.status),
          ),
        )
      expect([...(await spill(KEYS.queue, 3)), ...(await spill(KEYS.batch, 2))]).toEqual(Array(5).fill(202))
      await stack.adapters.clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: stack.env.deadLetterQueues.batch,
          MessageBody: JSON.stringify({ v: 1, jobId: 'dead-one', attempt: 0 }),
        }),
      )

      const res = await admin()
      expect(res.status).toBe(200)
      const body = (await res.json()) as QueuesBody
      expect(body.lanes).toEqual([
        { lane: 'interactive', waiting: 3, delayed: 0, inFlight: 0, deadLettered: 0 },
        { lane: 'batch', waiting: 2, delayed: 0, inFlight: 0, deadLettered: 1 },
      ])
      expect(body.jobs).toEqual({
        queued: { count: 5, capped: false },
        running: { count: 0, capped: false },
      })
      // The count stops at its bound instead of reading the whole index.
      expect(await stack.adapters.jobs.countOpen({ status: 'queued', max: 2 })).toEqual({
        count: 2,
        capped: true,
      })
      expect(await stack.adapters.jobs.countOpen({ status: 'queued', max: 5 })).toEqual({
        count: 5,
        capped: false,
      })
    } finally {
      await unblock()
    }
  })

  it('shows how long the oldest queued job of each lane has waited, on the dashboard and /metrics', async () => {
    // Prepare: the jobs queued above in both lanes are still queued (no workers run here).
    const headers = { authorization: 'Bearer sk-test-admin' }
    const lanes = async () =>
      (
        (await (await fetch(`${stack.gatewayUrl}/dashboard/data`, { headers })).json()) as {
          queues: { lane: string; oldestJobAgeMs: number | null }[]
        }
      ).queues
    const first = await lanes()
    await new Promise((resolve) => setTimeout(resolve, 1_200))

    // Act
    const later = await lanes()
    const metrics = await (await fetch(`${stack.gatewayUrl}/metrics`, { headers })).text()

    // Assess: the age is the oldest job's, so it grows with the clock.
    for (const lane of ['interactive', 'batch']) {
      const before = first.find((l) => l.lane === lane)?.oldestJobAgeMs
      const after = later.find((l) => l.lane === lane)?.oldestJobAgeMs
      expect(before, lane).toBeGreaterThan(0)
      expect(after, lane).toBeGreaterThanOrEqual((before ?? 0) + 1_000)
      const gauge = new RegExp(`spillway_queue_oldest_job_age_seconds\\{lane="${lane}"\\} ([\\d.]+)`).exec(
        metrics,
      )
      expect(Number(gauge?.[1]), lane).toBeGreaterThanOrEqual(1)
    }
  })
})
