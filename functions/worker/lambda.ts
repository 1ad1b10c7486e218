import { Logger } from '@aws-lambda-powertools/logger'
import { emitJobOutcomes } from '../../shared/observability/emf-metrics.ts'
import { isJobOutcome } from '../../shared/observability/job-outcomes.ts'
import { readRuntimeEnv } from '../../shared/runtime/runtime-env.ts'
import { workerFromEnv } from '../../shared/runtime/worker-deps.ts'
import { createWorkerHandler } from './handler.ts'

// SQS event source on both lanes, ReportBatchItemFailures on (see infra/constructs/spillway-gateway.ts).
const env = readRuntimeEnv(process.env)
const log = new Logger({ serviceName: 'spillway-worker', logLevel: env.logLevel.toUpperCase() as 'INFO' })
export const handler = createWorkerHandler(await workerFromEnv({ env, log }), {
  // One EMF line per job that ended here, written inside the invocation.
  onOutcome: (outcome) => {
    if (isJobOutcome(outcome)) emitJobOutcomes('spillway-worker', { [outcome]: 1 })
  },
})
