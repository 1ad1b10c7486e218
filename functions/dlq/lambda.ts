import { Logger } from '@aws-lambda-powertools/logger'
import { createAwsAdapters } from '../../shared/runtime/aws-adapters.ts'
import { readRuntimeEnv } from '../../shared/runtime/runtime-env.ts'
import { webhookSecretFrom } from '../../shared/runtime/secrets.ts'
import { createDeadLetterHandler } from './handler.ts'

// SQS event source on both dead-letter queues: marks each dead message's job failed, then calls its webhook.
const env = readRuntimeEnv(process.env)
const log = new Logger({ serviceName: 'spillway-dlq', logLevel: env.logLevel.toUpperCase() as 'INFO' })
const webhooks = { secret: await webhookSecretFrom(env) }
export const handler = createDeadLetterHandler({ jobs: createAwsAdapters(env).jobs, webhooks, log })
