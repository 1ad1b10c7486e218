import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { createAdaptorServer } from '@hono/node-server'
import { DEFAULT_CONFIG, parseGatewayConfig } from '../shared/config/gateway-config.ts'
import { createApp, gatewayRouting } from '../shared/http/app.ts'
import { silentLogger } from '../shared/logging.ts'
import { isJobOutcome } from '../shared/observability/job-outcomes.ts'
import { Observability } from '../shared/observability/observability.ts'
import type { Routing } from '../shared/router/routing.ts'
import { createAwsAdapters } from '../shared/runtime/aws-adapters.ts'
import { gatewayDeps } from '../shared/runtime/gateway-deps.ts'
import { readRuntimeEnv } from '../shared/runtime/runtime-env.ts'
import { resolveSecrets } from '../shared/runtime/secrets.ts'
import type { LocalAws, StartLocalAwsOptions } from './emulators.ts'
import type { StartFleetOptions } from './fleet/fleet.ts'
import type { AgentBackend } from './fleet/heartbeat-agent.ts'
import { fleetModels } from './fleet-models.ts'
import { type LocalStackOptions, localGatewayEnv } from './local-stack.ts'
import { type IpcChild, spawnIpcChild } from './processes/ipc-child.ts'
import { seedTenantKey } from './tenants.ts'

const script = (name: string) => fileURLToPath(new URL(`./processes/${name}`, import.meta.url))

/** What `npm start` prints and writes to its state file; the emulators' handle without `stop`. */
export interface ProcessStack {
  readonly aws: Omit<LocalAws, 'stop'>
  readonly fleet: { readonly backends: readonly AgentBackend[] }
  readonly gatewayUrl: string
  /** The pids of the emulators, fleet and workers processes. */
  readonly pids: Readonly<Record<'emulators' | 'fleet' | 'workers', number | undefined>>
  /** Resolves once every simulated backend has registered through its agent. */
  ready(): Promise<void>
  /** Resolves with the name of a child process that ended while the stack was up (it crashed or was killed). */
  readonly lostChild: Promise<string>
  stop(): Promise<void>
}

/**
 * The local stack as `npm start` runs it: the gateway in this process and
 * nothing else on its event loop; the emulators, the simulated fleet with its
 * heartbeat agents, and the workers (SQS poller, DLQ handler, reaper) each in a
 * child process of their own, over loopback HTTP as on AWS. Children stop with
 * this process (`local/processes/child-lifecycle.ts`); `stop()` takes them down
 * in the order that leaves no request without its store: workers, agents and
 * fleet, the gateway, then the emulators. `startLocalStack` (one process) is
 * what the tests use.
 */
export async function startProcessStack(options: LocalStackOptions): Promise<ProcessStack> {
  const log = options.log ?? silentLogger
  // Before anything starts: a fleet the config cannot route to is refused with nothing to stop.
  const models = fleetModels({
    spec: options.fleet,
    config: parseGatewayConfig(options.config ?? DEFAULT_CONFIG),
  })
  const children: IpcChild[] = []
  let stopped = false
  let onLost: (name: string) => void = () => {}
  const lostChild = new Promise<string>((resolve) => {
    onLost = resolve
  })
  const spawn = (name: string, childOptions: unknown) => {
    const child = spawnIpcChild({
      script: script(name),
      env: { SPILLWAY_LOCAL_CHILD: JSON.stringify(childOptions) },
    })
    child.child.once('exit', (code, signal) => {
      if (!stopped) onLost(`${name.replace(/\.ts$/, '')} (${signal ?? `exit ${code}`})`)
    })
    children.push(child)
    return child
  }
  let server: Server | undefined
  let routing: Routing | undefined
  let adapters: ReturnType<typeof createAwsAdapters> | undefined
  const stopAll = async () => {
    if (stopped) return
    stopped = true
    const [emulators, ...others] = children
    await Promise.all(others.map((child) => child.stop()))
    if (server) {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server?.close(() => resolve()))
    }
    // Before the emulators go: the warm leases' slots are given back, not left to their TTL.
    await routing?.router.freeWarmLeases()
    if (adapters) {
      adapters.clients.dynamo.destroy()
      adapters.clients.sqs.destroy()
    }
    await emulators?.stop()
  }

  try {
    const awsOptions: StartLocalAwsOptions = {
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      ...(options.endpointUrl ? { endpointUrl: options.endpointUrl } : {}),
      ...(options.prefix ? { prefix: options.prefix } : {}),
      ...(options.dynamodb ? { dynamodb: options.dynamodb } : {}),
    }
    const emulators = spawn('emulators-process.ts', awsOptions)
    const fleetOptions: StartFleetOptions = {
      spec: options.fleet,
      models,
      speed: options.speed ?? 1,
      ...(options.faults ? { faults: options.faults } : {}),
      ...(options.backendApiKey ? { apiKey: options.backendApiKey } : {}),
    }
    const fleetChild = spawn('fleet-process.ts', fleetOptions)
    // Spawned now so its modules load while the emulators start; it gets its env below.
    const workers = options.workers ? spawn('workers-process.ts', {}) : undefined
    // Both start at once: the fleet needs nothing from the emulators.
    const [{ aws }, { backends }] = await Promise.all([
      emulators.next<{ type: 'ready'; aws: Omit<LocalAws, 'stop'> }>('ready'),
      fleetChild.next<{ type: 'ready'; backends: AgentBackend[] }>('ready'),
    ])

    const env = localGatewayEnv(aws.env, options)
    const runtime = readRuntimeEnv(env)
    adapters = createAwsAdapters(runtime)
    for (const tenant of options.tenants ?? []) {
      await seedTenantKey({
        tenants: adapters.tenants,
        policy: tenant.policy,
        key: tenant.key,
        now: Date.now(),
      })
    }
    const observability = new Observability({ log, openWithoutKey: options.openDashboard ?? false })
    const deps = {
      ...gatewayDeps({
        env: runtime,
        adapters,
        secrets: await resolveSecrets(runtime),
        log,
        longLived: true,
      }),
      observability,
    }
    routing = gatewayRouting(deps, observability)
    const app = createApp(deps, routing)
    const listening = createAdaptorServer({ fetch: app.fetch }) as Server
    await new Promise<void>((resolve, reject) => {
      // A busy port must fail the start, not crash the process from an unhandled 'error' event.
      listening.once('error', reject)
      listening.listen(options.port ?? 0, '127.0.0.1', () => {
        listening.off('error', reject)
        resolve()
      })
    }).catch((error: unknown) => {
      const code = (error as NodeJS.ErrnoException).code
      throw code === 'EADDRINUSE' ? new Error(`port ${options.port} on 127.0.0.1 is in use`) : error
    })
    server = listening
    const gatewayUrl = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`

    const registered = fleetChild.next('registered')
    fleetChild.send({
      type: 'agents',
      gatewayUrl,
      agentKey: options.agentKey,
      intervalMs: options.heartbeatIntervalMs ?? 1000,
    })
    if (workers) {
      workers.child.on('message', (message: { type?: string; outcome?: string }) => {
        if (message?.type === 'job-outcome' && message.outcome && isJobOutcome(message.outcome))
          observability.recordJobOutcome(message.outcome)
      })
      const started = workers.next('ready')
      workers.send({ type: 'start', env })
      await started
    }

    return {
      aws,
      fleet: { backends },
      gatewayUrl,
      pids: { emulators: emulators.child.pid, fleet: fleetChild.child.pid, workers: workers?.child.pid },
      ready: async () => {
        await registered
      },
      lostChild,
      stop: stopAll,
    }
  } catch (error) {
    await stopAll()
    throw error
  }
}
