import { HttpBackendClient } from '../backends/backend-client.ts'
import type { AppDeps } from '../http/app-deps.ts'
import { Overflow } from '../jobs/overflow.ts'
import type { AppLogger } from '../logging.ts'
import type { AwsAdapters } from './aws-adapters.ts'
import type { RuntimeEnv } from './runtime-env.ts'
import type { ResolvedSecrets } from './secrets.ts'

/** AppDeps for a real gateway process (Lambda or Node) from its environment. */
export function gatewayDeps(options: {
  env: RuntimeEnv
  adapters: AwsAdapters
  secrets: ResolvedSecrets
  log: AppLogger
  /**
   * A process that outlives its requests (a Node server) keeps finished leases warm for
   * the config's `leaseLingerMs`; a Lambda environment, frozen between invocations, never.
   */
  longLived?: boolean
}): AppDeps {
  const { env, adapters, secrets } = options
  return {
    config: env.config,
    capacity: adapters.capacity,
    registry: adapters.registry,
    tenants: adapters.tenants,
    holds: adapters.holds,
    backendClient: new HttpBackendClient({ apiKey: secrets.backendApiKey }),
    adminKeyHash: secrets.adminKeyHash,
    ...(secrets.agentKeyHash ? { agentKeyHash: secrets.agentKeyHash } : {}),
    jobs: adapters.jobs,
    queueDepth: adapters.queueDepth,
    overflow: new Overflow({
      jobs: adapters.jobs,
      queue: adapters.queue,
      log: options.log,
      webhookPolicy: { allowPrivateNetworks: env.webhookAllowPrivateNetworks },
    }),
    webhookPolicy: { allowPrivateNetworks: env.webhookAllowPrivateNetworks },
    log: options.log,
    corsOrigins: env.corsOrigins,
    leaseLingerMs: options.longLived ? env.config.leaseLingerMs : 0,
  }
}
