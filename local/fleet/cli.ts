/**
 * Starts a simulated fleet and prints one line per backend, e.g.
 *
 *   node local/fleet/cli.ts --fleet h20=2x4,cpu=1x2 --speed 1
 *   node local/fleet/cli.ts --fleet h20=1x4 --gateway http://127.0.0.1:8787 --json
 *   node local/fleet/cli.ts --fleet h20=1x4 --config my.config.json
 *
 * With `--gateway`, a heartbeat agent per backend registers it there (key from
 * `--agent-key`, else SPILLWAY_ADMIN_KEY, else the local default). Stops on
 * SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util'
import { resolveGatewayConfig } from '../../shared/config/config-source.ts'
import { fleetModels } from '../fleet-models.ts'
import { startFleet } from './fleet.ts'
import { type HeartbeatAgent, startHeartbeatAgent } from './heartbeat-agent.ts'

const { values } = parseArgs({
  options: {
    fleet: { type: 'string', default: process.env.SPILLWAY_FLEET ?? 'h20=2x4,cpu=1x2' },
    // Which models each class serves, as for `npm start`: else SPILLWAY_CONFIG_FILE, ./spillway.config.json.
    config: { type: 'string' },
    speed: { type: 'string', default: '1' },
    'base-port': { type: 'string', default: '0' },
    gateway: { type: 'string' },
    'agent-key': { type: 'string', default: process.env.SPILLWAY_ADMIN_KEY ?? 'sk-spillway-admin' },
    // Like vLLM's --api-key; the gateway sends SPILLWAY_BACKEND_API_KEY to every backend.
    'api-key': { type: 'string', default: process.env.SPILLWAY_BACKEND_API_KEY },
    'interval-ms': { type: 'string', default: '1000' },
    json: { type: 'boolean', default: false },
  },
})

const fleet = await Promise.resolve()
  .then(() => {
    const { config } = resolveGatewayConfig({ flag: values.config, env: process.env, cwd: process.cwd() })
    return startFleet({
      spec: values.fleet,
      models: fleetModels({ spec: values.fleet, config }),
      speed: Number(values.speed),
      basePort: Number(values['base-port']),
      apiKey: values['api-key'],
    })
  })
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exit(2)
  })

for (const backend of fleet.backends) {
  const line = {
    id: backend.id,
    hardware: backend.hardware,
    url: backend.url,
    models: backend.models,
    maxConcurrency: backend.maxConcurrency,
  }
  console.log(
    values.json
      ? JSON.stringify(line)
      : `${line.id}\t${line.url}\t${line.hardware}\tslots=${line.maxConcurrency}\t${line.models.join(',')}`,
  )
}

const agents: HeartbeatAgent[] = []
const gatewayUrl = values.gateway
if (gatewayUrl) {
  for (const backend of fleet.backends) {
    agents.push(
      startHeartbeatAgent({
        backend,
        gatewayUrl,
        agentKey: values['agent-key'],
        intervalMs: Number(values['interval-ms']),
      }),
    )
  }
}

const shutdown = async () => {
  await Promise.all(agents.map((agent) => agent.stop()))
  await fleet.stop()
  process.exit(0)
}
process.once('SIGINT', shutdown)
process.once('SIGTERM', shutdown)
