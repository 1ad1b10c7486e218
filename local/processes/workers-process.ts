/**
 * The SQS worker poller, the DLQ handler and the reaper in a process of their
 * own under `npm start`. Each job outcome goes back to the parent, whose
 * gateway counts it in its metrics and dashboard.
 *
 *   child → { type: 'ready' } | { type: 'job-outcome', outcome }    parent → { type: 'stop' }
 */
import { consoleLogger } from '../../shared/logging.ts'
import { readRuntimeEnv } from '../../shared/runtime/runtime-env.ts'
import { startLocalWorkers } from '../worker-poller.ts'
import { childOptions, stopWithParent } from './child-lifecycle.ts'

process.title = 'spillway-workers'
const { env } = childOptions<{ env: Record<string, string> }>()
const workers = await startLocalWorkers({
  env: readRuntimeEnv(env),
  log: consoleLogger({ level: (process.env.LOG_LEVEL as 'info') ?? 'warn', service: 'local' }),
  onJobOutcome: (outcome) => process.send?.({ type: 'job-outcome', outcome }),
})
stopWithParent(() => workers.stop())
process.send?.({ type: 'ready' })
