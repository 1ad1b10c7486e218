import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type JobRecord, newJobId } from '../../shared/jobs/job-record.ts'
import {
  chatBody,
  eventually,
  type JobStack,
  KEYS,
  MODEL,
  postChat,
  startJobStack,
} from '../jobs/support/job-stack.ts'

const POLLER = fileURLToPath(new URL('../../local/worker-poller.ts', import.meta.url))
let stack: JobStack
const children = new Set<ChildProcess>()

beforeAll(async () => {
  stack = await startJobStack({ fleet: 'h20=1x2', speed: 1 })
})
afterEach(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  children.clear()
})
afterAll(async () => {
  await stack?.stop()
})

/** The local poller in its own process, as `node --experimental-strip-types local/worker-poller.ts`. */
async function startWorkerProcess(settings: Record<string, unknown>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--experimental-strip-types', '--no-warnings', POLLER], {
    env: { ...process.env, ...stack.processEnv, SPILLWAY_LOCAL_WORKERS: JSON.stringify(settings) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  children.add(child)
  const lines = createInterface({ input: child.stdout! })
  const [line] = (await Promise.race([once(lines, 'line'), once(child, 'exit').then(() => ['exited'])])) as [
    string,
  ]
  if (!line.includes('ready')) throw new Error(`worker process did not start: ${line}`)
  return child
}

async function spillOne(maxTokens: number): Promise<string> {
  const backend = stack.fleet.backends[0]!
  const unblock = await stack.blockSlots(backend.id, 2)
  const res = await postChat(stack.gatewayUrl, KEYS.queue, chatBody({ max_tokens: maxTokens }), {
    prefer: 'respond-async',
  })
  expect(res.status).toBe(202)
  await unblock()
  return ((await res.json()) as { id: string }).id
}

async function killMidJob(child: ChildProcess, jobId: string): Promise<void> {
  const backend = stack.fleet.backends[0]!
  expect(
    await eventually(
      async () =>
        (await stack.adapters.jobs.get(jobId))?.status === 'running' && backend.state().running === 1,
    ),
  ).toBe(true)
  child.kill('SIGKILL')
  await once(child, 'exit')
}

const finalState = async (id: string) => {
  await eventually(async () => (await stack.adapters.jobs.get(id))?.status === 'succeeded', 20_000, 100)
  return stack.adapters.jobs.get(id)
}

describe('a worker SIGKILLed mid-job loses nothing', () => {
  it('finishes the job through SQS redelivery once the visibility timeout passes', async () => {
    stack.fleet.backends[0]!.reset()
    const settings = {
      visibilityTimeoutSeconds: 3,
      waitTimeSeconds: 1,
      reaperIntervalMs: false,
      worker: { claimTtlMs: 1_500 },
    }
    const child = await startWorkerProcess(settings)
    const id = await spillOne(200)
    await killMidJob(child, id)
    // The survivors: an in-process worker, without a reaper.
    const workers = await stack.startWorkers({
      visibilityTimeoutSeconds: 3,
      reaperIntervalMs: false,
      worker: { claimTtlMs: 1_500 },
    })
    const job = await finalState(id)
    await workers.stop()
    expect(job).toMatchObject({ status: 'succeeded', attempts: 2 })
    // The killed attempt reached the backend and was cut off; the second one completed.
    expect(stack.fleet.backends[0]!.state().totals.completed).toBe(1)
  })

  it('finishes the job through the reaper, which requeues the lapsed claim before SQS redelivers', async () => {
    stack.fleet.backends[0]!.reset()
    const settings = {
      visibilityTimeoutSeconds: 120,
      waitTimeSeconds: 1,
      reaperIntervalMs: false,
      worker: { claimTtlMs: 1_000 },
    }
    const child = await startWorkerProcess(settings)
    const id = await spillOne(200)
    await killMidJob(child, id)
    const workers = await stack.startWorkers({ visibilityTimeoutSeconds: 120, reaperIntervalMs: false })
    expect(await eventually(async () => (await workers.reapNow()).claimsRequeued === 1, 5_000, 200)).toBe(
      true,
    )
    const job = await finalState(id)
    await workers.stop()
    expect(job).toMatchObject({ status: 'succeeded', attempts: 2 })
  })

  it('sends the message of a job whose message was never sent (outbox sweep)', async () => {
    const now = Date.now()
    const job: JobRecord = {
      id: newJobId(),
      tenantId: 'queuer',
      model: MODEL,
      request: chatBody(),
      stream: false,
      lane: 'interactive',
      mayDegrade: false,
      status: 'queued',
      requestId: 'req-outbox',
      createdAt: now,
      updatedAt: now,
      deadlineAt: now + 60_000,
      attempts: 0,
    }
    // A gateway that died between writing the job and sending its message.
    await stack.adapters.jobs.create({ job, sendBy: now })
    const workers = await stack.startWorkers({ reaperIntervalMs: false })
    const swept = await workers.reapNow()
    expect(swept.messagesSent).toBeGreaterThanOrEqual(1)
    const done = await finalState(job.id)
    await workers.stop()
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1, enqueuedAt: expect.any(Number) })
  })
})
