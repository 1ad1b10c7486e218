import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../../infra/constructs/functions.ts'
import type { LocalStack } from '../../local/local-stack.ts'
import { type AwsClients, destroyAwsClients } from '../../shared/aws/clients.ts'
import { DynamoJobStore } from '../../shared/jobs/dynamo-job-store.ts'
import { type JobRecord, newJobId } from '../../shared/jobs/job-record.ts'
import { parseJobMessage } from '../../shared/queue/job-queue.ts'
import { clientsFor, receiveOne } from '../support/aws.ts'
import { startTestStack, testConfig } from '../support/gateway-stack.ts'
import { type Synthesized, synthSpillway } from './synth-spillway.ts'

/**
 * The bundles `cdk synth` builds are the code the local stack runs: each is invoked here
 * in its own Node process, with the sample events in test/fixtures/events, against the
 * embedded emulators and a simulated fleet. The only difference from Lambda is where the
 * keys come from (plain variables here, Secrets Manager ARNs on AWS).
 */
const run = promisify(execFile)
const EVENTS = join(PROJECT_ROOT, 'test', 'fixtures', 'events')
const HARNESS = join(PROJECT_ROOT, 'test', 'infra', 'lambda-harness.ts')
/** The fixtures carry the local stack's dev key. */
const FIXTURE_KEY = 'sk-spillway-dev'

let synth: Synthesized
let stack: LocalStack
let clients: AwsClients
let jobs: DynamoJobStore

// Bundling every function with esbuild takes well over a minute on a loaded 2-core machine.
beforeAll(async () => {
  synth = await synthSpillway({ bundle: true })
  // Lambda resolves the external `@aws-sdk/*` imports from the runtime; here, from node_modules.
  await symlink(join(PROJECT_ROOT, 'node_modules'), join(synth.outdir, 'node_modules'), 'dir')
  stack = await startTestStack({
    fleet: 'h20=1x2',
    tenants: [{ key: FIXTURE_KEY, policy: { id: 'dev', mayDegrade: true, mayQueue: true } }],
  })
  await stack.ready()
  clients = clientsFor(stack.aws)
  jobs = new DynamoJobStore({ doc: clients.doc, tableName: stack.aws.names.tables.jobs })
}, 240_000)
afterAll(async () => {
  if (clients) destroyAwsClients(clients)
  await stack?.stop()
  await synth?.remove()
})

function bundleDir(fn: 'Gateway' | 'Worker' | 'DeadLetters' | 'Reaper'): string {
  const resources = synth.template.findResources('AWS::Lambda::Function') as Record<
    string,
    { Metadata: Record<string, string> }
  >
  const [resource] = Object.entries(resources).filter(([id]) => id.startsWith(`Spillway${fn}`))
  expect(resource).toBeDefined()
  return join(synth.outdir, resource![1].Metadata['aws:asset:path']!)
}

async function invoke(options: {
  fn: 'Gateway' | 'Worker' | 'DeadLetters' | 'Reaper'
  event: string
  mode: 'buffered' | 'stream'
}): Promise<Record<string, unknown>> {
  const env = {
    PATH: process.env.PATH ?? '',
    ...stack.env,
    SPILLWAY_CONFIG: JSON.stringify(testConfig()),
    LOG_LEVEL: 'error',
    NODE_OPTIONS: '--enable-source-maps',
  }
  const { stdout } = await run(
    process.execPath,
    [HARNESS, bundleDir(options.fn), join(EVENTS, options.event), options.mode],
    {
      env,
      timeout: 20_000,
    },
  )
  const last = stdout.trim().split('\n').at(-1) ?? '{}'
  return JSON.parse(last) as Record<string, unknown>
}

/** The job ids the SQS fixtures point at. */
function fixtureJobIds(event: string): string[] {
  const { Records } = JSON.parse(readFileSync(join(EVENTS, event), 'utf8')) as { Records: { body: string }[] }
  return Records.map((record) => parseJobMessage(record.body)?.jobId ?? '')
}

/** A queued job as the gateway writes it on overflow; `enqueued: false` leaves its message owed. */
async function seedJob(id: string, options: { enqueued: boolean }): Promise<void> {
  const now = Date.now()
  const job: JobRecord = {
    id,
    tenantId: 'dev',
    model: 'deepseek-r1-distill-llama-8b',
    request: {
      model: 'deepseek-r1-distill-llama-8b',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 4,
    },
    stream: false,
    lane: 'interactive',
    mayDegrade: true,
    status: 'queued',
    requestId: `req-${id}`,
    createdAt: now,
    updatedAt: now,
    deadlineAt: now + 600_000,
    attempts: 0,
    ...(options.enqueued ? { enqueuedAt: now } : {}),
  }
  expect(await jobs.create({ job, sendBy: options.enqueued ? now + 600_000 : now - 1_000 })).toEqual({
    ok: true,
  })
  if (options.enqueued) expect(await jobs.markEnqueued({ id, now })).toBe(true)
}

describe('bundled handlers', () => {
  it('the gateway bundle answers a Function URL health check', async () => {
    const { metadata } = await invoke({ fn: 'Gateway', event: 'function-url-health.json', mode: 'stream' })
    expect(metadata).toMatchObject({ statusCode: 200 })
  })

  it('the gateway bundle streams a chat completion from a simulated backend', async () => {
    const { metadata, body } = await invoke({
      fn: 'Gateway',
      event: 'function-url-chat-completion-stream.json',
      mode: 'stream',
    })
    expect(metadata).toMatchObject({
      statusCode: 200,
      headers: { 'x-spillway-route': 'primary', 'x-spillway-hardware': 'h20' },
    })
    expect(String(body)).toMatch(/^data: \{/)
    expect(String(body).trimEnd()).toMatch(/data: \[DONE\]$/)
  })

  it('the gateway bundle lists the configured models for an authenticated tenant', async () => {
    const { metadata, body } = await invoke({
      fn: 'Gateway',
      event: 'function-url-models.json',
      mode: 'stream',
    })
    expect(metadata).toMatchObject({ statusCode: 200 })
    expect(JSON.parse(String(body))).toMatchObject({
      object: 'list',
      data: expect.arrayContaining([expect.objectContaining({ id: 'deepseek-r1-distill-llama-8b' })]),
    })
  })

  it('the worker bundle runs the queued jobs of an SQS batch and reports no failures', async () => {
    const ids = fixtureJobIds('sqs-interactive-jobs.json')
    for (const id of ids) await seedJob(id, { enqueued: true })
    const { result } = await invoke({ fn: 'Worker', event: 'sqs-interactive-jobs.json', mode: 'buffered' })
    expect(result).toEqual({ batchItemFailures: [] })
    for (const id of ids) {
      expect(await jobs.get(id)).toMatchObject({ status: 'succeeded', servedBy: { hardware: 'h20' } })
    }
  })

  it('the DLQ bundle marks the job of a dead message failed', async () => {
    const [id] = fixtureJobIds('sqs-dead-letter.json')
    await seedJob(id!, { enqueued: true })
    const { result } = await invoke({ fn: 'DeadLetters', event: 'sqs-dead-letter.json', mode: 'buffered' })
    expect(result).toEqual({ batchItemFailures: [] })
    expect(await jobs.get(id!)).toMatchObject({ status: 'failed' })
  })

  it('the reaper bundle sends the message a queued job is still owed', async () => {
    const id = newJobId()
    await seedJob(id, { enqueued: false })
    await invoke({ fn: 'Reaper', event: 'eventbridge-reaper-schedule.json', mode: 'buffered' })
    const message = await receiveOne(clients.sqs, {
      queueUrl: stack.aws.queueUrls.interactive,
      waitSeconds: 2,
    })
    expect(parseJobMessage(message?.Body ?? '')).toMatchObject({ jobId: id })
  })
})
