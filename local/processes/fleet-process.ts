/**
 * The simulated fleet and its heartbeat agents in a process of their own under
 * `npm start`: the simulators' token pacing and the agents' polling stay off
 * the gateway's event loop. The agents start once the parent's gateway listens.
 *
 *   child → { type: 'ready', backends } | { type: 'registered' }
 *   parent → { type: 'agents', gatewayUrl, agentKey, intervalMs } | { type: 'stop' }
 */
import { consoleLogger } from '../../shared/logging.ts'
import { type StartFleetOptions, startFleet } from '../fleet/fleet.ts'
import { type HeartbeatAgent, startHeartbeatAgent } from '../fleet/heartbeat-agent.ts'
import { childOptions, stopWithParent } from './child-lifecycle.ts'

process.title = 'spillway-fleet'
const fleet = await startFleet(childOptions<StartFleetOptions>())
let agents: HeartbeatAgent[] = []
stopWithParent(async () => {
  await Promise.all(agents.map((agent) => agent.stop()))
  await fleet.stop()
})
const log = consoleLogger({ level: (process.env.LOG_LEVEL as 'info') ?? 'warn', service: 'local' })

process.on(
  'message',
  (message: { type?: string; gatewayUrl?: string; agentKey?: string; intervalMs?: number }) => {
    if (message?.type !== 'agents' || !message.gatewayUrl || !message.agentKey) return
    const { gatewayUrl, agentKey } = message
    agents = fleet.backends.map((backend) =>
      startHeartbeatAgent({
        backend,
        gatewayUrl,
        agentKey,
        intervalMs: message.intervalMs ?? 1000,
        logger: { info: (m: string) => log.info(m), warn: (m: string) => log.warn(m) },
      }),
    )
    const poll = setInterval(() => {
      if (!agents.every((agent) => agent.status().registered)) return
      clearInterval(poll)
      process.send?.({ type: 'registered' })
    }, 20)
  },
)
process.send?.({
  type: 'ready',
  backends: fleet.backends.map((b) => ({
    id: b.id,
    url: b.url,
    hardware: b.hardware,
    models: b.models,
    maxConcurrency: b.maxConcurrency,
  })),
})
