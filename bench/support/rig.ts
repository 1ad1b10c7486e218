import type { Agent } from 'node:http'
import { fileURLToPath } from 'node:url'
import { type Fleet, startFleet } from '../../local/fleet/fleet.ts'
import type { BackendRegistration } from '../../shared/backends/backend-record.ts'
import {
  ADMIN_KEY,
  benchConfig,
  INSTANT_CLASS,
  INSTANT_MODEL,
  OVERHEAD_FLEET,
  PACED_CLASS,
  PACED_MODEL,
  PACED_SPEED,
  type Payload,
  TENANT,
  TENANT_KEY,
} from '../lib/bench-setup.ts'
import type { CallTarget } from '../lib/http-call.ts'
import { loadAgent } from '../lib/http-call.ts'
import type { CpuPlan } from '../lib/pinning.ts'
import { type BenchGateway, startBenchGateway } from './gateway-handle.ts'
import { spawnIpcChild } from './ipc-child.ts'

const EMULATORS = fileURLToPath(new URL('./emulators-child.ts', import.meta.url))

export type Store = 'memory' | 'dynamo'
/** What the side-by-side runs call: the simulated backend alone, then the gateway on each store. */
export type Target = 'baseline' | Store
export const TARGETS: readonly Target[] = ['baseline', 'memory', 'dynamo']

export interface LocalAwsInfo {
  readonly env: Record<string, string>
  readonly endpoints: { dynamodb: string; sqs: string }
}

/**
 * The set-up the overhead, throughput and profile runs share: emulators in their
 * own process, two simulated fleets in this one (next to the load generator),
 * and one gateway process per store, pinned to its own core.
 */
export interface Rig {
  readonly aws: LocalAwsInfo
  readonly agent: Agent
  readonly gateways: Readonly<Record<Store, BenchGateway>>
  /** The backends themselves, for the baseline (round robin over them). */
  baselineTargets(payload: Payload): CallTarget[]
  gatewayTarget(store: Store): CallTarget
  /** A target on any gateway process of this rig (the variants an experiment starts). */
  targetOf(gateway: BenchGateway): CallTarget
  /** Another gateway process on the same fleets (an experiment's variant). */
  startGateway(options: { store: Store; backendClient?: 'fetch' | 'node-http' }): Promise<BenchGateway>
  stop(): Promise<void>
}

export async function startRig(options: { cpus: CpuPlan }): Promise<Rig> {
  const stops: (() => Promise<void>)[] = []
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined)
  }
  try {
    const emulators = spawnIpcChild({ script: EMULATORS, env: {} })
    stops.push(() => emulators.stop())
    const aws = await emulators.next<{ type: 'ready' } & LocalAwsInfo>('ready')

    const fleets: Record<'instant' | 'paced', Fleet> = {
      instant: await startFleet({
        spec: `${INSTANT_CLASS}=${OVERHEAD_FLEET.backends}x${OVERHEAD_FLEET.slots}`,
        speed: 0,
        models: { [INSTANT_CLASS]: [INSTANT_MODEL] },
      }),
      paced: await startFleet({
        spec: `${PACED_CLASS}=${OVERHEAD_FLEET.backends}x${OVERHEAD_FLEET.slots}`,
        speed: PACED_SPEED,
        models: { [PACED_CLASS]: [PACED_MODEL] },
      }),
    }
    stops.push(
      () => fleets.instant.stop(),
      () => fleets.paced.stop(),
    )
    const backends: BackendRegistration[] = [...fleets.instant.backends, ...fleets.paced.backends].map(
      (b) => ({
        id: b.id,
        url: b.url,
        hardware: b.hardware,
        models: b.models,
        maxConcurrency: b.maxConcurrency,
      }),
    )

    const startGateway = async (o: { store: Store; backendClient?: 'fetch' | 'node-http' }) => {
      const gateway = await startBenchGateway({
        spec: {
          store: o.store,
          config: benchConfig(),
          backends,
          tenant: { key: TENANT_KEY, policy: TENANT },
          adminKey: ADMIN_KEY,
          ...(o.backendClient ? { backendClient: o.backendClient } : {}),
        },
        awsEnv: aws.env,
        ...(options.cpus.gatewayCore === undefined ? {} : { core: options.cpus.gatewayCore }),
      })
      stops.push(() => gateway.stop())
      return gateway
    }
    const gateways = {
      memory: await startGateway({ store: 'memory' }),
      dynamo: await startGateway({ store: 'dynamo' }),
    }
    const agent = loadAgent()
    stops.push(async () => agent.destroy())

    const auth = { authorization: `Bearer ${TENANT_KEY}` }
    return {
      aws: { env: aws.env, endpoints: aws.endpoints },
      agent,
      gateways,
      baselineTargets: (payload) =>
        fleets[payload.name].backends.map((b) => ({
          url: new URL('/v1/chat/completions', b.url),
          headers: {},
        })),
      gatewayTarget: (store) => ({
        url: new URL('/v1/chat/completions', gateways[store].url),
        headers: auth,
      }),
      targetOf: (gateway) => ({ url: new URL('/v1/chat/completions', gateway.url), headers: auth }),
      startGateway,
      stop: stopAll,
    }
  } catch (error) {
    await stopAll()
    throw error
  }
}
