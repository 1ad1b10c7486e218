import type { Context } from 'aws-lambda'
import { createAwsAdapters } from '../../shared/runtime/aws-adapters.ts'
import { FUNCTION_NEEDS } from '../../shared/runtime/env-names.ts'
import { readRuntimeEnv } from '../../shared/runtime/runtime-env.ts'
import { webhookSecretFrom } from '../../shared/runtime/secrets.ts'
import { emitFleetGauges } from '../emf-metrics.ts'
import { lambdaLogger } from '../lambda-logger.ts'
import { secretsManager } from '../secrets-manager.ts'
import { createReaperHandler } from './handler.ts'

// Runs on an EventBridge schedule; each run is one idempotent sweep, then the expired jobs' webhooks.
const env = readRuntimeEnv(process.env, FUNCTION_NEEDS.reaper)
const log = lambdaLogger({ serviceName: 'spillway-reaper', env })
const { capacity, jobs, queue } = createAwsAdapters(env)
const heartbeatStaleMs = env.config.heartbeatStaleSeconds * 1000
const webhooks = { secret: await webhookSecretFrom(env, secretsManager) }
const reap = createReaperHandler({ capacity, jobs, queue, log, heartbeatStaleMs, webhooks })

export async function handler(event: unknown, context?: Context) {
  const result = await reap(event, context)
  // The dashboard's slot and backend-state graphs: one point per run (a minute) from one snapshot.
  const backends = await capacity.snapshot()
  emitFleetGauges({ serviceName: 'spillway-reaper', backends, now: Date.now(), heartbeatStaleMs })
  return result
}
