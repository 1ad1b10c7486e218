import { isJobOutcome } from '../../shared/observability/job-outcomes.ts'
import { FUNCTION_NEEDS } from '../../shared/runtime/env-names.ts'
import { readRuntimeEnv } from '../../shared/runtime/runtime-env.ts'
import { workerFromEnv } from '../../shared/runtime/worker-deps.ts'
import { emitJobOutcomes } from '../emf-metrics.ts'
import { lambdaLogger } from '../lambda-logger.ts'
import { secretsManager } from '../secrets-manager.ts'
import { createWorkerHandler } from './handler.ts'

// SQS event source on both lanes, ReportBatchItemFailures on (see infra/constructs/spillway-gateway.ts).
const env = readRuntimeEnv(process.env, FUNCTION_NEEDS.worker)
const log = lambdaLogger({ serviceName: 'spillway-worker', env })
export const handler = createWorkerHandler(await workerFromEnv({ env, log, secretStore: secretsManager }), {
  // One EMF line per job that ended here, written inside the invocation.
  onOutcome: (outcome) => {
    if (isJobOutcome(outcome)) emitJobOutcomes('spillway-worker', { [outcome]: 1 })
  },
})
