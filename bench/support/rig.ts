import type { Agent } from 'node:http'
import { fileURLToPath } from 'node:url'
import { type Fleet, startFleet } from '../../local/fleet/fleet.ts'
import { spawnIpcChild } from '../../local/processes/ipc-child.ts'
import type { BackendRegistration } from '../../shared/backends/backend-record.ts'
import { parseGatewayConfig } from '../../shared/config/gateway-config.ts'
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
import { type BenchGateway, type MeasuredGateway, startBenchGateway } from './gateway-handle.ts'
import { type PortkeyPeer, startPortkey } from './portkey-handle.ts'

const EMULATORS = fileURLToPath(new URL('./emulators-child.ts', import.meta.url))

export type Store = 'memory' | 'dynamo'
/** Every gateway process the bench measures: Spillway on each store, and the Portkey peer. */
export type Gateway = Store | 'portkey'
/** What the side-by-side runs call: the simulated backend alone, then each gateway. */
export type Target = 'baseline' | Gateway
export const TARGETS: readonly Target[] = ['baseline', 'memory', 'dynamo', 'portkey']
export const GATEWAYS: readonly Gateway[] = ['memory', 'dynamo', 'portkey']

export interface LocalAwsInfo {
  readonly env: Record<string, string>
  readonly endpoints: { dynamodb: string; sqs: string }
}

/**
 * The set-up the overhead, throughput and profile runs share: emulators in their
 * own process, two simulated fleets in this one (next to the load generator),
 * one gateway process per store and the Portkey peer's process, each pinned to
 * the gateway core when pinning is on.
 */
export interface Rig {
  readonly aws: LocalAwsInfo
  readonly agent: Agent
  readonly gateways: Readonly<Record<Store, BenchGateway>>
  /** The stateless peer, on the same fleets. */
  readonly portkey: PortkeyPeer
  /** The backends themselves, for the baseline (round robin over them). */
  baselineTargets(payload: Payload): CallTarget[]
  gatewayTarget(store: Store): CallTarget
  /** Where to send `payload` through `gateway`: Portkey is told the backend per request, round robin. */
  targetsOf(gateway: Gateway, payload: Payload): CallTarget[]
  /** The process behind `gateway`, for its CPU and GC figures. */
  measured(gateway: Gateway): MeasuredGateway
  /** A target on any gateway process of this rig (the variants an experiment starts). */
  targetOf(gateway: BenchGateway): CallTarget
  /** Another gateway process on the same fleets (an experiment's variant). */
  startGateway(options: {
    store: Store
    backendClient?: 'fetch' | 'node-http'
    /** The config's `leaseLingerMs` for this one (the rig's gateways keep the default). */
    leaseLingerMs?: number
  }): Promise<BenchGateway>
  /** How long the rig's own gateways keep a finished lease warm (the config's default). */
  readonly leaseLingerMs: number
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

    const startGateway = async (o: {
      store: Store
      backendClient?: 'fetch' | 'node-http'
      leaseLingerMs?: number
    }) => {
      const gateway = await startBenchGateway({
        spec: {
          store: o.store,
          config: {
            ...benchConfig(),
            ...(o.leaseLingerMs === undefined ? {} : { leaseLingerMs: o.leaseLingerMs }),
          },
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
    const portkey = await startPortkey(
      options.cpus.gatewayCore === undefined ? {} : { core: options.cpus.gatewayCore },
    )
    stops.push(() => portkey.stop())
    const agent = loadAgent()
    stops.push(async () => agent.destroy())

    const auth = { authorization: `Bearer ${TENANT_KEY}` }
    const gatewayTarget = (store: Store) => ({
      url: new URL('/v1/chat/completions', gateways[store].url),
      headers: auth,
    })
    return {
      aws: { env: aws.env, endpoints: aws.endpoints },
      agent,
      gateways,
      portkey,
      baselineTargets: (payload) =>
        fleets[payload.name].backends.map((b) => ({
          url: new URL('/v1/chat/completions', b.url),
          headers: {},
        })),
      gatewayTarget,
      targetsOf: (gateway, payload) =>
        gateway === 'portkey'
          ? portkey.targetsFor(fleets[payload.name].backends.map((b) => b.url))
          : [gatewayTarget(gateway)],
      measured: (gateway) => (gateway === 'portkey' ? portkey : gateways[gateway]),
      targetOf: (gateway) => ({ url: new URL('/v1/chat/completions', gateway.url), headers: auth }),
      startGateway,
      leaseLingerMs: parseGatewayConfig(benchConfig()).leaseLingerMs,
      stop: stopAll,
    }
  } catch (error) {
    await stopAll()
    throw error
  }
}
