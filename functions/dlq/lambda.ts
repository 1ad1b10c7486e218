import { createAwsAdapters } from '../../shared/runtime/aws-adapters.ts'
import { FUNCTION_NEEDS } from '../../shared/runtime/env-names.ts'
import { readRuntimeEnv } from '../../shared/runtime/runtime-env.ts'
import { webhookSecretFrom } from '../../shared/runtime/secrets.ts'
import { emitJobOutcomes } from '../emf-metrics.ts'
import { lambdaLogger } from '../lambda-logger.ts'
import { secretsManager } from '../secrets-manager.ts'
import { createDeadLetterHandler } from './handler.ts'

// SQS event source on both dead-letter queues: marks each dead message's job failed, then calls its webhook.
const env = readRuntimeEnv(process.env, FUNCTION_NEEDS.dlq)
const log = lambdaLogger({ serviceName: 'spillway-dlq', env })
const webhooks = { secret: await webhookSecretFrom(env, secretsManager) }
export const handler = createDeadLetterHandler({
  jobs: createAwsAdapters(env).jobs,
  webhooks,
  log,
  // A job failed here is a terminal outcome like the worker's: the dashboard's JobOutcomes counts it.
  onJobEnded: (outcome) => emitJobOutcomes('spillway-dlq', { [outcome]: 1 }),
})
