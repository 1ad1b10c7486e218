import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs'
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda'
import { createDeadLetterHandler } from '../functions/dlq/handler.ts'
import { createWorkerHandler } from '../functions/worker/handler.ts'
import { destroyAwsClients } from '../shared/aws/clients.ts'
import { type AppLogger, consoleLogger, errorFields, silentLogger } from '../shared/logging.ts'
import { type ReapResult, reap } from '../shared/reaper/reaper.ts'
import { createAwsAdapters } from '../shared/runtime/aws-adapters.ts'
import { queueUrls, type RuntimeEnv, readRuntimeEnv } from '../shared/runtime/runtime-env.ts'
import { workerFromEnv } from '../shared/runtime/worker-deps.ts'
import { WORKER_TIMEOUT_SECONDS } from '../shared/tables.ts'
import type { JobRunOutcome } from '../shared/worker/run-job.ts'
import type { WorkerOptions } from '../shared/worker/worker-options.ts'
import { sqsRecordFrom } from './sqs-record.ts'

export interface LocalWorkersOptions {
  readonly env: RuntimeEnv
  readonly worker?: Partial<WorkerOptions>
  /** Messages per event, as the SQS event source's batch size (1..10). */
  readonly batchSize?: number
  /** Concurrent invocations per lane (Lambda's event-source maxConcurrency). */
  readonly concurrency?: number
  readonly waitTimeSeconds?: number
  /** Per-receive visibility timeout; the queue's own (6 × the worker timeout) when unset. */
  readonly visibilityTimeoutSeconds?: number
  /** A failed record becomes visible again after this (Lambda waits the whole visibility timeout). */
  readonly failedVisibilitySeconds?: number
  /** Reaper period; `false` runs no reaper. */
  readonly reaperIntervalMs?: number | false
  readonly outboxGraceMs?: number
  readonly log?: AppLogger
  /** Each job delivery's outcome (the local stack counts job outcomes in its metrics). */
  readonly onJobOutcome?: (outcome: JobRunOutcome) => void
}

export interface LocalWorkers {
  /** One reaper sweep now (tests), besides the timer. */
  reapNow(): Promise<ReapResult>
  stop(): Promise<void>
}

type Handler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>

/**
 * Locally, what Lambda's SQS event source does: long-poll the lanes (the
 * interactive one first), hand the real worker handler real SQS-shaped events,
 * delete what it did not report failed and make the failures visible again, so
 * the queues' redrive policy moves poison to the DLQs; poll the DLQs for the
 * DLQ handler; run the reaper on a timer.
 *
 * @example
 * const workers = await startLocalWorkers({ env: readRuntimeEnv(aws.env) })
 * // …
 * await workers.stop()
 */
export async function startLocalWorkers(options: LocalWorkersOptions): Promise<LocalWorkers> {
  const { env } = options
  const log = options.log ?? silentLogger
  const adapters = createAwsAdapters(env)
  const { sqs } = adapters.clients
  const worker = await workerFromEnv({ env, log, adapters, options: options.worker })
  const workerHandler = createWorkerHandler(
    worker,
    options.onJobOutcome ? { onOutcome: options.onJobOutcome } : {},
  )
  // The reaper and the DLQ handler end jobs too, and sign their webhooks like the worker.
  const webhooks = { secret: worker.webhookSecret, settings: worker.options.webhook }
  const deadLetterHandler = createDeadLetterHandler({
    jobs: adapters.jobs,
    webhooks,
    log,
    // The jobs it fails count among the job outcomes, as the DLQ Lambda's do.
    ...(options.onJobOutcome ? { onJobEnded: options.onJobOutcome } : {}),
  })
  // Not an AbortController for the long polls: a receive cut off on our side may still take
  // messages on the server, which then stay invisible for the whole visibility timeout.
  let stopping = false
  const arnOf = async (url: string) =>
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] })))
      .Attributes?.QueueArn ?? url
  const lane = async (url: string) => ({ url, arn: await arnOf(url) })
  const [interactive, batch, interactiveDlq, batchDlq] = await Promise.all([
    lane(queueUrls(env).interactive),
    lane(queueUrls(env).batch),
    ...(env.deadLetterQueues.interactive ? [lane(env.deadLetterQueues.interactive)] : []),
    ...(env.deadLetterQueues.batch ? [lane(env.deadLetterQueues.batch)] : []),
  ])
  if (!interactive || !batch) throw new Error('queue URLs missing')
  const batchSize = Math.min(10, Math.max(1, options.batchSize ?? 10))
  const wait = options.waitTimeSeconds ?? 2

  const receive = async (queue: { url: string }, waitSeconds: number): Promise<Message[]> => {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.url,
        MaxNumberOfMessages: batchSize,
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
        ...(options.visibilityTimeoutSeconds === undefined
          ? {}
          : { VisibilityTimeout: options.visibilityTimeoutSeconds }),
      }),
    )
    return out.Messages ?? []
  }
  const invoke = async (handler: Handler, queue: { url: string; arn: string }, messages: Message[]) => {
    const event: SQSEvent = {
      Records: messages.map((m) => sqsRecordFrom(m, queue.arn, env.region ?? 'us-east-1')),
    }
    let failed: Set<string>
    try {
      const response = await handler(event, lambdaContext(WORKER_TIMEOUT_SECONDS * 1000))
      failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier))
    } catch (error) {
      log.error('handler threw; the whole batch is retried', errorFields(error))
      failed = new Set(messages.map((m) => m.MessageId ?? ''))
    }
    const entry = (m: Message, i: number) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })
    const done = messages.filter((m) => !failed.has(m.MessageId ?? ''))
    const retry = messages.filter((m) => failed.has(m.MessageId ?? ''))
    if (done.length > 0)
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queue.url, Entries: done.map(entry) }))
    if (retry.length > 0) {
      const VisibilityTimeout = options.failedVisibilitySeconds ?? 1
      await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queue.url,
          Entries: retry.map((m, i) => ({ ...entry(m, i), VisibilityTimeout })),
        }),
      )
    }
  }
  // Interactive pollers take only their lane; batch pollers look at the interactive lane
  // first, so a batch backlog never holds an interactive job back.
  const loop = async (next: () => Promise<void>) => {
    while (!stopping) {
      try {
        await next()
      } catch (error) {
        if (stopping) break
        log.warn('local poller error', errorFields(error))
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
    }
  }
  const pollInteractive = async () => {
    const messages = await receive(interactive, wait)
    if (messages.length > 0) await invoke(workerHandler, interactive, messages)
  }
  const pollBatch = async () => {
    const urgent = await receive(interactive, 0)
    if (urgent.length > 0) return invoke(workerHandler, interactive, urgent)
    const messages = await receive(batch, wait)
    if (messages.length > 0) await invoke(workerHandler, batch, messages)
  }
  const pollDeadLetters = (queue: { url: string; arn: string }) => async () => {
    const messages = await receive(queue, wait)
    if (messages.length > 0) await invoke(deadLetterHandler, queue, messages)
  }
  const concurrency = Math.max(1, options.concurrency ?? 2)
  const loops = [
    ...Array.from({ length: concurrency }, () => loop(pollInteractive)),
    ...Array.from({ length: concurrency }, () => loop(pollBatch)),
    ...[interactiveDlq, batchDlq].flatMap((dlq) => (dlq ? [loop(pollDeadLetters(dlq))] : [])),
  ]

  let sweeping: Promise<ReapResult> | undefined
  const reapNow = () => {
    sweeping ??= reap({
      capacity: adapters.capacity,
      jobs: adapters.jobs,
      queue: adapters.queue,
      log,
      webhooks,
      heartbeatStaleMs: env.config.heartbeatStaleSeconds * 1000,
      ...(options.outboxGraceMs === undefined ? {} : { outboxGraceMs: options.outboxGraceMs }),
    }).finally(() => {
      sweeping = undefined
    })
    return sweeping
  }
  const interval = options.reaperIntervalMs ?? 5_000
  const timer =
    interval === false
      ? undefined
      : setInterval(
          () => void reapNow().catch((error) => log.warn('reaper failed', errorFields(error))),
          interval,
        )

  return {
    reapNow,
    async stop() {
      clearInterval(timer)
      stopping = true
      await Promise.allSettled([...loops, sweeping])
      destroyAwsClients(adapters.clients)
    },
  }
}

/** The parts of a Lambda context the handlers read: the remaining time, mostly. */
function lambdaContext(timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs
  const unsupported = () => {
    throw new Error('not supported by the local poller')
  }
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'spillway-local-worker',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:spillway-local-worker',
    memoryLimitInMB: '256',
    awsRequestId: crypto.randomUUID(),
    logGroupName: 'local',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  }
}

// `node --experimental-strip-types local/worker-poller.ts`: the workers as their own process,
// joined to a running local stack through its environment (tests SIGKILL it mid-job).
if (import.meta.main) {
  const env = readRuntimeEnv(process.env)
  const extra = JSON.parse(process.env.SPILLWAY_LOCAL_WORKERS ?? '{}') as Partial<LocalWorkersOptions>
  const log = consoleLogger({ level: env.logLevel, service: 'worker' })
  const workers = await startLocalWorkers({ ...extra, env, log })
  process.stdout.write(`${JSON.stringify({ workers: 'ready', pid: process.pid })}\n`)
  const stop = () => void workers.stop().then(() => process.exit(0))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
