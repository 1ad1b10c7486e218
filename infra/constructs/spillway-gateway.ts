import { Duration, RemovalPolicy } from 'aws-cdk-lib'
import { Rule, Schedule } from 'aws-cdk-lib/aws-events'
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets'
import { FunctionUrlAuthType, type IFunctionUrl, InvokeMode } from 'aws-cdk-lib/aws-lambda'
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources'
import { RetentionDays } from 'aws-cdk-lib/aws-logs'
import { Construct } from 'constructs'
import type { GatewayConfigInput } from '../../shared/config/gateway-config.ts'
import { parseCorsOrigins } from '../../shared/runtime/cors-origins.ts'
import {
  DEAD_LETTER_QUEUE_ENV,
  ENV,
  FUNCTION_NEEDS,
  QUEUE_ENV,
  TABLE_ENV,
} from '../../shared/runtime/env-names.ts'
import { WORKER_TIMEOUT_SECONDS } from '../../shared/tables.ts'
import { DeployedConfig } from './deployed-config.ts'
import { type FunctionKey, SpillwayFunction } from './functions.ts'
import { type AlarmThresholds, METRICS_NAMESPACE, SpillwayObservability } from './observability.ts'
import { SpillwayQueues } from './queues.ts'
import { SpillwaySecrets } from './secrets.ts'
import { SpillwayTables } from './tables.ts'

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR'

export interface SpillwayGatewayProps {
  /** Hardware classes, models and their tiers, lease TTL, timeouts; default `DEFAULT_CONFIG`. Validated at synth. */
  config?: GatewayConfigInput
  /** A `spillway.config.json` read and validated at synth instead of `config`. */
  configFile?: string
  /** DESTROY (default) suits a personal account; RETAIN keeps tables, queues, secrets and logs. */
  removalPolicy?: RemovalPolicy
  /** DynamoDB deletion protection on every table (default false). */
  deletionProtection?: boolean
  logLevel?: LogLevel
  /** Log retention of every function (default one month). */
  logRetention?: RetentionDays
  gateway?: {
    /** MB; Lambda bills the whole stream, so small (default 256). */
    memorySize?: number
    /** The longest stream or `Prefer: wait` hold (default and maximum 15 minutes). */
    timeout?: Duration
    /**
     * Concurrent gateway invocations at most, reserved (default 50). Every stream and hold
     * is one invocation for its whole length; the cap keeps them from starving the worker,
     * reaper and DLQ handler of the account's concurrency.
     */
    reservedConcurrency?: number
    /**
     * Browser origins allowed to call the API (`['https://app.example.com']`, or `['*']`);
     * CORS is off when absent. The app answers CORS itself (`SPILLWAY_CORS_ORIGINS`), so the
     * Function URL gets no CORS setting of its own, which would answer preflights in its place.
     */
    corsOrigins?: readonly string[]
  }
  worker?: {
    /** Concurrent worker invocations per queue (default 5, minimum 2). */
    maxConcurrency?: number
    /** Messages per invocation (default 5): small, so one slow backend holds few jobs. */
    batchSize?: number
    memorySize?: number
  }
  /** How often the reaper runs (default every minute). */
  reaperRate?: Duration
  /**
   * `false` reserves no concurrency for any function. Lambda keeps 100 of an account's
   * concurrent executions unreserved, so an account whose quota is still the new-account
   * 10 cannot reserve any (see docs/DEPLOY.md); default true.
   */
  reserveConcurrency?: boolean
  /** Where alarms are mailed; none by default (the SNS topic is an output either way). */
  alarmEmail?: string
  alarmThresholds?: AlarmThresholds
}

/**
 * Spillway on AWS: the DynamoDB tables and SQS queues from `shared/tables.ts`, the gateway
 * behind a streaming Function URL, the worker and DLQ handler on SQS, the reaper on a
 * schedule, secrets, alarms and a dashboard. Embed it in any CDK stack.
 *
 * @example
 * const spillway = new SpillwayGateway(stack, 'Spillway', { alarmEmail: 'ops@example.com' })
 * new CfnOutput(stack, 'Url', { value: spillway.url.url })
 */
export class SpillwayGateway extends Construct {
  readonly tables: SpillwayTables
  readonly queues: SpillwayQueues
  readonly secrets: SpillwaySecrets
  readonly functions: Readonly<Record<FunctionKey, SpillwayFunction>>
  readonly url: IFunctionUrl
  readonly observability: SpillwayObservability

  constructor(scope: Construct, id: string, props: SpillwayGatewayProps = {}) {
    super(scope, id)
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY
    const workerTimeout = Duration.seconds(WORKER_TIMEOUT_SECONDS)
    // Room for a batch's webhooks, sent in parallel, each at worst ~27 s (4 attempts × 5 s + backoff).
    const deadLetterTimeout = Duration.seconds(60)
    const config = new DeployedConfig(this, 'Config', {
      ...(props.config ? { config: props.config } : {}),
      ...(props.configFile ? { configFile: props.configFile } : {}),
    })

    this.tables = new SpillwayTables(this, 'Tables', {
      deletionProtection: props.deletionProtection ?? false,
      removalPolicy,
    })
    this.queues = new SpillwayQueues(this, 'Queues', {
      workerTimeout,
      deadLetterHandlerTimeout: deadLetterTimeout,
      removalPolicy,
    })
    this.secrets = new SpillwaySecrets(this, 'Secrets', { removalPolicy })
    const { tables } = this.tables
    const { queues, deadLetterQueues } = this.queues
    const { secrets } = this.secrets

    // Names and URLs only; secrets travel as ARNs and are read at cold start.
    const common = {
      ...config.environment,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      [ENV.logLevel]: props.logLevel ?? 'INFO',
    }
    // Each function is told of the tables and queues it uses (FUNCTION_NEEDS) and no others;
    // the grants below give it the same ones.
    const resourcesOf = (key: FunctionKey): Record<string, string> => {
      const needs = FUNCTION_NEEDS[key]
      return {
        ...Object.fromEntries(needs.tables.map((table) => [TABLE_ENV[table], tables[table].tableName])),
        ...(needs.queues
          ? { [QUEUE_ENV.interactive]: queues.interactive.queueUrl, [QUEUE_ENV.batch]: queues.batch.queueUrl }
          : {}),
        ...(needs.deadLetterQueues
          ? {
              [DEAD_LETTER_QUEUE_ENV.interactive]: deadLetterQueues.interactive.queueUrl,
              [DEAD_LETTER_QUEUE_ENV.batch]: deadLetterQueues.batch.queueUrl,
            }
          : {}),
      }
    }
    const fn = (
      key: FunctionKey,
      options: {
        id: string
        description: string
        memorySize: number
        timeout: Duration
        env?: Record<string, string>
        reservedConcurrency: number
      },
    ) =>
      new SpillwayFunction(this, options.id, {
        entry: key,
        description: options.description,
        memorySize: options.memorySize,
        timeout: options.timeout,
        environment: {
          ...resourcesOf(key),
          ...common,
          POWERTOOLS_SERVICE_NAME: `spillway-${key}`,
          ...options.env,
        },
        layers: config.layers,
        logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
        removalPolicy,
        ...(props.reserveConcurrency === false ? {} : { reservedConcurrency: options.reservedConcurrency }),
      })
    const workerMaxConcurrency = props.worker?.maxConcurrency ?? 5

    const gateway = fn('gateway', {
      id: 'Gateway',
      description: 'Spillway gateway: OpenAI-compatible API, routing, streaming',
      memorySize: props.gateway?.memorySize ?? 256,
      timeout: props.gateway?.timeout ?? Duration.minutes(15),
      env: {
        [ENV.adminKeySecretArn]: secrets.admin.secretArn,
        [ENV.agentKeySecretArn]: secrets.agent.secretArn,
        [ENV.backendApiKeySecretArn]: secrets.backend.secretArn,
        ...(props.gateway?.corsOrigins?.length
          ? { [ENV.corsOrigins]: parseCorsOrigins(props.gateway.corsOrigins.join(',')).join(',') }
          : {}),
      },
      reservedConcurrency: props.gateway?.reservedConcurrency ?? 50,
    })
    const worker = fn('worker', {
      id: 'Worker',
      description: 'Spillway worker: runs queued jobs when a slot frees',
      memorySize: props.worker?.memorySize ?? 256,
      timeout: workerTimeout,
      env: {
        [ENV.webhookSecretArn]: secrets.webhook.secretArn,
        [ENV.backendApiKeySecretArn]: secrets.backend.secretArn,
      },
      // What its event sources may run at once (maxConcurrency per queue), never throttled below it.
      reservedConcurrency: workerMaxConcurrency * 2,
    })
    const deadLetters = fn('dlq', {
      id: 'DeadLetters',
      description: 'Spillway DLQ handler: marks poison jobs failed',
      memorySize: 256,
      timeout: deadLetterTimeout,
      env: { [ENV.webhookSecretArn]: secrets.webhook.secretArn },
      // Its two event sources run at most 2 each.
      reservedConcurrency: 4,
    })
    const reaper = fn('reaper', {
      id: 'Reaper',
      description: 'Spillway reaper: expired leases, stuck jobs, stale backends',
      memorySize: 256,
      // Shorter than the schedule, so two runs rarely overlap; webhooks that might not finish in
      // what is left of it are not started (shared/jobs/notify-ended-jobs.ts).
      timeout: Duration.seconds(50),
      env: { [ENV.webhookSecretArn]: secrets.webhook.secretArn },
      // One sweep at a time: a slow run is never overlapped by the next tick.
      reservedConcurrency: 1,
    })
    this.functions = { gateway, worker, dlq: deadLetters, reaper }

    // Gateway: the whole HTTP surface; it writes leases, jobs, tenants' rate counters, and deletes
    // backends (deregistration, and a tombstone whose last lease it releases).
    this.tables.grantItems(gateway, 'backends', { access: 'readwrite', delete: true })
    // The index only for GET /admin/queues (counts of open jobs).
    this.tables.grantItems(gateway, 'jobs', { access: 'readwrite', indexes: ['by-open-status'] })
    this.tables.grantItems(gateway, 'tenants', { access: 'readwrite' })
    queues.interactive.grantSendMessages(gateway)
    queues.batch.grantSendMessages(gateway)
    // GET /admin/queues reads each lane's and DLQ's depth.
    for (const queue of [...Object.values(queues), ...Object.values(deadLetterQueues)])
      queue.grant(gateway, 'sqs:GetQueueAttributes')
    // Not the webhook secret: the gateway never signs a webhook (worker, reaper, DLQ handler do).
    for (const secret of [secrets.admin, secrets.agent, secrets.backend]) secret.grantRead(gateway)

    // Worker: claims jobs, leases slots, re-enqueues with backoff, signs webhooks.
    // It deletes a removed backend's tombstone when it releases the last lease; no tenants table:
    // the tenant's policy travels on the job.
    this.tables.grantItems(worker, 'backends', { access: 'readwrite', delete: true })
    this.tables.grantItems(worker, 'jobs', { access: 'readwrite' })
    secrets.webhook.grantRead(worker)
    secrets.backend.grantRead(worker)
    for (const queue of Object.values(queues)) {
      queue.grantSendMessages(worker)
      worker.addEventSource(
        new SqsEventSource(queue, {
          batchSize: props.worker?.batchSize ?? 5,
          reportBatchItemFailures: true,
          maxConcurrency: workerMaxConcurrency,
        }),
      )
    }

    // DLQ handler: marks the job of each dead message failed, signs its webhook.
    this.tables.grantItems(deadLetters, 'jobs', { access: 'readwrite' })
    secrets.webhook.grantRead(deadLetters)
    for (const queue of Object.values(deadLetterQueues)) {
      deadLetters.addEventSource(
        new SqsEventSource(queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 2 }),
      )
    }

    // Reaper: reclaims leases, sweeps open jobs through the GSI, re-enqueues them, signs the
    // webhooks of the jobs it expires.
    // Deletes removed backends' tombstones once their leases expired.
    this.tables.grantItems(reaper, 'backends', { access: 'readwrite', delete: true })
    secrets.webhook.grantRead(reaper)
    this.tables.grantItems(reaper, 'jobs', {
      access: 'readwrite',
      indexes: ['by-open-status', 'by-webhook-due'],
    })
    queues.interactive.grantSendMessages(reaper)
    queues.batch.grantSendMessages(reaper)
    new Rule(this, 'ReaperSchedule', {
      description: 'Runs the Spillway reaper',
      schedule: Schedule.rate(props.reaperRate ?? Duration.minutes(1)),
      // A missed tick is made up by the next one: no retries, no stale events.
      targets: [new LambdaFunction(reaper, { retryAttempts: 0, maxEventAge: Duration.minutes(1) })],
    })

    this.url = gateway.addFunctionUrl({
      // OpenAI clients send `Authorization: Bearer sk-…` and cannot SigV4-sign (AWS_IAM), so the
      // URL is public and the app authenticates every route itself (hashed tenant keys, separate
      // admin and agent keys). AwsSolutions has no rule on Function URL auth; this is the reason.
      authType: FunctionUrlAuthType.NONE,
      // Buffered mode would hold SSE until the end and cap the response at 6 MB.
      invokeMode: InvokeMode.RESPONSE_STREAM,
    })

    this.observability = new SpillwayObservability(this, 'Observability', {
      functions: this.functions,
      queues,
      deadLetterQueues,
      ...(props.alarmEmail ? { alarmEmail: props.alarmEmail } : {}),
      ...(props.alarmThresholds ? { thresholds: props.alarmThresholds } : {}),
    })
  }
}
