/**
 * The SQS worker poller, the DLQ handler and the reaper in a process of their
 * own under `npm start`. Each job outcome goes back to the parent, whose
 * gateway counts it in its metrics and dashboard.
 *
 *   parent → { type: 'start', env } | { type: 'stop' }
 *   child → { type: 'ready' } | { type: 'job-outcome', outcome }
 *
 * Spawned as the stack starts and given its env once the emulators are up, so
 * loading the worker's modules overlaps the emulators' start-up.
 */
import { consoleLogger } from '../../shared/logging.ts'
import { readRuntimeEnv } from '../../shared/runtime/runtime-env.ts'
import { startLocalWorkers } from '../worker-poller.ts'
import { stopWithParent } from './child-lifecycle.ts'

process.title = 'spillway-workers'
let stopWorkers = async () => {}
stopWithParent(() => stopWorkers())
const env = await new Promise<Record<string, string>>((resolve) => {
  const onMessage = (message: { type?: string; env?: Record<string, string> }) => {
    if (message?.type !== 'start' || !message.env) return
    process.off('message', onMessage)
    resolve(message.env)
  }
  process.on('message', onMessage)
})
const workers = await startLocalWorkers({
  env: readRuntimeEnv(env),
  log: consoleLogger({ level: (process.env.LOG_LEVEL as 'info') ?? 'warn', service: 'local' }),
  onJobOutcome: (outcome) => process.send?.({ type: 'job-outcome', outcome }),
})
stopWorkers = () => workers.stop()
process.send?.({ type: 'ready' })
