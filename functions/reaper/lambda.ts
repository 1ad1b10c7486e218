import { Logger } from '@aws-lambda-powertools/logger'
import { createReaperHandler } from '../../shared/reaper/reaper.ts'
import { createAwsAdapters } from '../../shared/runtime/aws-adapters.ts'
import { readRuntimeEnv } from '../../shared/runtime/runtime-env.ts'

// Runs on an EventBridge schedule; each run is one idempotent sweep.
const env = readRuntimeEnv(process.env)
const log = new Logger({ serviceName: 'spillway-reaper', logLevel: env.logLevel.toUpperCase() as 'INFO' })
const { capacity, jobs, queue } = createAwsAdapters(env)
const heartbeatStaleMs = env.config.heartbeatStaleSeconds * 1000
export const handler = createReaperHandler({ capacity, jobs, queue, log, heartbeatStaleMs })
