import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import {
  DEFAULT_CONFIG,
  type GatewayConfigInput,
  parseGatewayConfig,
} from '../shared/config/gateway-config.ts'
import { createApp } from '../shared/http/app.ts'
import type { AppDeps } from '../shared/http/app-deps.ts'
import { Overflow, type OverflowOptions } from '../shared/jobs/overflow.ts'
import { generateWebhookSecret } from '../shared/jobs/webhook-secret.ts'
import { type AppLogger, silentLogger } from '../shared/logging.ts'
import { isJobOutcome } from '../shared/observability/job-outcomes.ts'
import { Observability } from '../shared/observability/observability.ts'
import { type AwsAdapters, createAwsAdapters } from '../shared/runtime/aws-adapters.ts'
import { gatewayDeps } from '../shared/runtime/gateway-deps.ts'
import { type RuntimeEnv, readRuntimeEnv } from '../shared/runtime/runtime-env.ts'
import { resolveSecrets } from '../shared/runtime/secrets.ts'
import type { TenantPolicyInput } from '../shared/tenants/tenant-policy.ts'
import { type DynamoEngine, type LocalAws, startLocalAws } from './emulators.ts'
import { type Fleet, type StartFleetOptions, startFleet } from './fleet/fleet.ts'
import { type HeartbeatAgent, startHeartbeatAgent } from './fleet/heartbeat-agent.ts'
import { fleetModels } from './fleet-models.ts'
import { seedTenantKey } from './tenants.ts'
import { type LocalWorkers, startLocalWorkers } from './worker-poller.ts'

/** Gateway settings tests tune; a deployment takes the defaults. */
export interface LocalGatewayOptions extends Pick<AppDeps, 'hold' | 'capacitySignal' | 'maxHoldSeconds'> {
  /** Over the overflow path's defaults (its stores and webhook policy come from the stack). */
  readonly overflow?: Partial<OverflowOptions>
}

export interface LocalStackOptions {
  readonly fleet: string
  /**
   * The models each hardware class serves, instead of those the config gives it
   * (`fleetModels`); a class left out serves the simulator's default.
   */
  readonly models?: StartFleetOptions['models']
  /** Simulator speed factor (1 = realistic timing). */
  readonly speed?: number
  readonly faults?: StartFleetOptions['faults']
  /** Gateway port; 0 picks a free one. */
  readonly port?: number
  readonly dataDir?: string
  readonly endpointUrl?: string
  /** The embedded DynamoDB emulator: dynalite (default) or AWS's DynamoDB Local (needs Java 17). */
  readonly dynamodb?: DynamoEngine
  readonly config?: GatewayConfigInput
  readonly adminKey: string
  readonly agentKey: string
  /** The simulated backends require it on `/v1/*` (vLLM's `--api-key`); gateway and worker send it. */
  readonly backendApiKey?: string
  /** Signs job webhooks (`whsec_…`); a fresh random one when not given. */
  readonly webhookSecret?: string
  readonly tenants?: readonly { policy: TenantPolicyInput; key: string }[]
  readonly heartbeatIntervalMs?: number
  /**
   * Register the backends through a heartbeat agent each (default), or once, straight into the
   * registry: for tests that want no heartbeat traffic (set `heartbeatStaleSeconds` to outlast them).
   */
  readonly heartbeatAgents?: boolean
  readonly gateway?: LocalGatewayOptions
  /** Run the worker (through the local SQS poller), the DLQ handler and the reaper in this process. */
  readonly workers?: boolean
  readonly log?: AppLogger
  /**
   * Serve `/metrics` and the dashboard's data without the admin key (`npm start`
   * does; the gateway listens on 127.0.0.1 only). Off by default, as on a deployment.
   */
  readonly openDashboard?: boolean
  /** Extra env for the gateway (lease TTL and the like come through `config`). */
  readonly prefix?: string
  /** Browser origins allowed to call the gateway (`SPILLWAY_CORS_ORIGINS`); off when absent. */
  readonly corsOrigins?: readonly string[]
}

export interface LocalStack {
  readonly aws: LocalAws
  readonly fleet: Fleet
  readonly gatewayUrl: string
  /** The env a separate gateway or worker process needs to join this stack. */
  readonly env: Record<string, string>
  /** That env as the gateway read it. */
  readonly runtime: RuntimeEnv
  /** The gateway's adapters (shared by the in-process workers), for tests to look behind the API. */
  readonly adapters: AwsAdapters
  readonly agents: readonly HeartbeatAgent[]
  /** The gateway's metrics, log lines and dashboard data (the worker's job outcomes land here too). */
  readonly observability: Observability
  /** Resolves once every simulated backend has registered through its agent. */
  ready(): Promise<void>
  stop(): Promise<void>
}

/**
 * The whole system in one process: emulated DynamoDB and SQS, a simulated fleet,
 * the gateway on Node, and a heartbeat agent per backend. `npm start`, the
 * integration tests and the benchmarks all start it this way.
 */
/** The gateway's environment on the local stack: the emulators' endpoints plus the stack's keys and settings. */
export function localGatewayEnv(
  awsEnv: Readonly<Record<string, string>>,
  options: Pick<
    LocalStackOptions,
    'adminKey' | 'agentKey' | 'webhookSecret' | 'backendApiKey' | 'config' | 'corsOrigins'
  >,
): Record<string, string> {
  return {
    ...awsEnv,
    SPILLWAY_ADMIN_KEY: options.adminKey,
    SPILLWAY_AGENT_KEY: options.agentKey,
    // Signs job webhooks; a fresh random one per local run unless given, never a constant in the code.
    SPILLWAY_WEBHOOK_SECRET: options.webhookSecret ?? generateWebhookSecret(),
    // Local receivers listen on 127.0.0.1; a deployment never sets this.
    SPILLWAY_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    ...(options.backendApiKey ? { SPILLWAY_BACKEND_API_KEY: options.backendApiKey } : {}),
    ...(options.config ? { SPILLWAY_CONFIG: JSON.stringify(options.config) } : {}),
    ...(options.corsOrigins?.length ? { SPILLWAY_CORS_ORIGINS: options.corsOrigins.join(',') } : {}),
  }
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? silentLogger
  // Before the emulators start: a fleet the config cannot route to is refused with nothing to stop.
  const models =
    options.models ??
    fleetModels({ spec: options.fleet, config: parseGatewayConfig(options.config ?? DEFAULT_CONFIG) })
  const aws = await startLocalAws({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.endpointUrl ? { endpointUrl: options.endpointUrl } : {}),
    ...(options.prefix ? { prefix: options.prefix } : {}),
    ...(options.dynamodb ? { dynamodb: options.dynamodb } : {}),
  })
  const env = localGatewayEnv(aws.env, options)
  const runtime = readRuntimeEnv(env)
  const adapters = createAwsAdapters(runtime)
  for (const tenant of options.tenants ?? []) {
    await seedTenantKey({
      tenants: adapters.tenants,
      policy: tenant.policy,
      key: tenant.key,
      now: Date.now(),
    })
  }

  const fleet = await startFleet({
    spec: options.fleet,
    models,
    speed: options.speed ?? 1,
    ...(options.faults ? { faults: options.faults } : {}),
    apiKey: options.backendApiKey,
  })
  const observability = new Observability({ log, openWithoutKey: options.openDashboard ?? false })
  const deps = gatewayDeps({ env: runtime, adapters, secrets: await resolveSecrets(runtime), log })
  const { overflow, ...gateway } = options.gateway ?? {}
  const app = createApp({
    ...deps,
    ...(overflow
      ? {
          overflow: new Overflow({
            jobs: adapters.jobs,
            queue: adapters.queue,
            log,
            webhookPolicy: { allowPrivateNetworks: runtime.webhookAllowPrivateNetworks },
            ...overflow,
          }),
        }
      : {}),
    ...gateway,
    observability,
  })
  const server = createAdaptorServer({ fetch: app.fetch }) as Server
  await new Promise<void>((resolve, reject) => {
    // A busy port must fail the start, not crash the process from an unhandled 'error' event.
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  }).catch(async (error: unknown) => {
    await fleet.stop()
    adapters.clients.dynamo.destroy()
    adapters.clients.sqs.destroy()
    await aws.stop()
    const code = (error as NodeJS.ErrnoException).code
    throw code === 'EADDRINUSE' ? new Error(`port ${options.port} on 127.0.0.1 is in use`) : error
  })
  const gatewayUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const quiet = { info() {}, warn() {} }
  if (options.heartbeatAgents === false) {
    for (const backend of fleet.backends) {
      const { id, url, hardware, models, maxConcurrency, apis } = backend
      await adapters.registry.register({
        registration: { id, url, hardware, models, maxConcurrency, apis },
        now: Date.now(),
      })
    }
  }
  const agents = (options.heartbeatAgents === false ? [] : fleet.backends).map((backend) =>
    startHeartbeatAgent({
      backend,
      gatewayUrl,
      agentKey: options.agentKey,
      intervalMs: options.heartbeatIntervalMs ?? 1000,
      logger:
        log === silentLogger ? quiet : { info: (m: string) => log.info(m), warn: (m: string) => log.warn(m) },
    }),
  )

  const workers: LocalWorkers | undefined = options.workers
    ? await startLocalWorkers({
        env: runtime,
        log,
        onJobOutcome: (outcome) => {
          if (isJobOutcome(outcome)) observability.recordJobOutcome(outcome)
        },
      })
    : undefined

  let stopped = false
  return {
    aws,
    fleet,
    gatewayUrl,
    env: { ...env, SPILLWAY_GATEWAY_URL: gatewayUrl },
    runtime,
    adapters,
    agents,
    observability,
    async ready() {
      while (!agents.every((agent) => agent.status().registered)) await new Promise((r) => setTimeout(r, 20))
    },
    async stop() {
      if (stopped) return
      stopped = true
      await workers?.stop()
      await Promise.all(agents.map((agent) => agent.stop()))
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await fleet.stop()
      adapters.clients.dynamo.destroy()
      adapters.clients.sqs.destroy()
      await aws.stop()
    },
  }
}
