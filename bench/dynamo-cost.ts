import { startFleet } from '../local/fleet/fleet.ts'
import { seedTenantKey } from '../local/tenants.ts'
import { destroyAwsClients } from '../shared/aws/clients.ts'
import { createApp } from '../shared/http/app.ts'
import { silentLogger } from '../shared/logging.ts'
import { createAwsAdapters } from '../shared/runtime/aws-adapters.ts'
import { gatewayDeps } from '../shared/runtime/gateway-deps.ts'
import { resolveSecrets } from '../shared/runtime/secrets.ts'
import {
  emulatorUpdateItemLatency,
  ITEM_SWEEP_SLOTS,
  type ItemSizeCost,
  writeUnitsBySlotsHeld,
} from './dynamo-item-size.ts'
import { type AwsCallCounter, countAwsCalls, type DynamoOps } from './lib/aws-calls.ts'
import { INSTANT_CLASS, INSTANT_MODEL, TENANT, TENANT_KEY } from './lib/bench-setup.ts'
import type { Progress } from './lib/progress.ts'
import { type Percentiles, round } from './lib/stats.ts'
import { freshRuntimeEnv } from './support/bench-tables.ts'
import type { LocalAwsInfo } from './support/rig.ts'

const REJECTED_BACKOFF_MS = 50

export interface DynamoCostOptions {
  readonly aws: LocalAwsInfo
  /** How long each scenario is driven, after its warm-up. */
  readonly durationMs: number
  readonly progress: Progress
}

export interface ScenarioCost {
  readonly gateways: number
  readonly slots: number
  readonly concurrency: number
  readonly requests: number
  /** Answered 200 (routed to a backend). */
  readonly routed: number
  /** Answered 429: no slot after the allowed attempts (tenant may not queue). */
  readonly rejected: number
  readonly requestsPerSecond: number
  readonly ops: DynamoOps
  /** Per routed request. */
  readonly perRoutedRequest: {
    readonly reads: number
    readonly writes: number
    readonly conditionalFailures: number
    readonly readUnits: number
    readonly writeUnits: number
    /** Failed conditional writes are billed like writes of the item; estimated at the mean unit cost. */
    readonly writeUnitsWithFailedChecks: number
  }
  readonly scansPerGatewaySecond: number
}

export interface DynamoCostResult {
  /** Every lease released at once, as on Lambda. */
  readonly steady: ScenarioCost
  /** The same, with finished leases kept warm for the next request, as the Node server does. */
  readonly steadyWarm?: ScenarioCost
  readonly contention: ScenarioCost
  /** Slots of the backend in the item-size sweep (vLLM's default max-num-seqs). */
  readonly itemSweepSlots: number
  /** Write units per acquire and release as that backend's lease map fills. */
  readonly writeUnitsBySlotsHeld: readonly ItemSizeCost[]
  /** One UpdateItem round trip to the embedded emulator, one at a time: what the store adds to latency here. */
  readonly emulatorUpdateItemMs: Percentiles
}

export async function runDynamoCost(o: DynamoCostOptions): Promise<DynamoCostResult> {
  const counter = countAwsCalls()
  try {
    return await measure(o, counter)
  } finally {
    counter.restore()
  }
}

async function measure(o: DynamoCostOptions, counter: AwsCallCounter): Promise<DynamoCostResult> {
  o.progress.step('dynamodb cost: steady state (1 gateway, 4x8 slots, 8 concurrent)')
  const steady = await scenario(o, counter, {
    prefix: 'bench-cost-steady',
    gateways: 1,
    backends: 4,
    slots: 8,
    concurrency: 8,
  })
  o.progress.detail(describe(steady))
  o.progress.step('dynamodb cost: the same, leases kept warm between requests (the Node server)')
  const steadyWarm = await scenario(o, counter, {
    prefix: 'bench-cost-warm',
    gateways: 1,
    backends: 4,
    slots: 8,
    concurrency: 8,
    longLived: true,
  })
  o.progress.detail(describe(steadyWarm))
  o.progress.step('dynamodb cost: contention (3 gateways, 2x4 slots, 12 concurrent)')
  const contention = await scenario(o, counter, {
    prefix: 'bench-cost-contention',
    gateways: 3,
    backends: 2,
    slots: 4,
    concurrency: 12,
  })
  o.progress.detail(describe(contention))
  o.progress.step('dynamodb cost: write units per acquire as a 256-slot backend fills')
  const bySlotsHeld = await writeUnitsBySlotsHeld(o.aws, counter)
  o.progress.detail(
    bySlotsHeld
      .map((c) => `${c.leasesHeld} held: ${c.acquireWriteUnits}+${c.releaseWriteUnits} WCU`)
      .join(', '),
  )
  return {
    steady,
    steadyWarm,
    contention,
    itemSweepSlots: ITEM_SWEEP_SLOTS,
    writeUnitsBySlotsHeld: bySlotsHeld,
    emulatorUpdateItemMs: await emulatorUpdateItemLatency(o.aws),
  }
}

function describe(s: ScenarioCost): string {
  const p = s.perRoutedRequest
  return (
    `${s.routed} routed, ${s.rejected} rejected: per routed request ${p.writes} writes ` +
    `(${p.conditionalFailures} failed checks), ${p.reads} reads, ${p.writeUnits} WCU, ${p.readUnits} RCU`
  )
}

async function scenario(
  o: DynamoCostOptions,
  counter: AwsCallCounter,
  s: {
    prefix: string
    gateways: number
    backends: number
    slots: number
    concurrency: number
    longLived?: boolean
  },
): Promise<ScenarioCost> {
  const env = await freshRuntimeEnv({ aws: o.aws, prefix: s.prefix })
  // Paced (~10 ms a request), so leases are held long enough for the gateways to race.
  const fleet = await startFleet({
    spec: `${INSTANT_CLASS}=${s.backends}x${s.slots}`,
    speed: 0.2,
    models: { [INSTANT_CLASS]: [INSTANT_MODEL] },
  })
  const gateways = await Promise.all(
    Array.from({ length: s.gateways }, async () => {
      const adapters = createAwsAdapters(env)
      const app = createApp(
        gatewayDeps({
          env,
          adapters,
          secrets: await resolveSecrets(env),
          log: silentLogger,
          longLived: s.longLived ?? false,
        }),
      )
      return { adapters, app }
    }),
  )
  try {
    const first = gateways[0]!
    const now = Date.now()
    for (const b of fleet.backends) {
      await first.adapters.registry.register({
        registration: {
          id: b.id,
          url: b.url,
          hardware: b.hardware,
          models: b.models,
          maxConcurrency: b.maxConcurrency,
        },
        now,
      })
    }
    await seedTenantKey({ tenants: first.adapters.tenants, policy: TENANT, key: TENANT_KEY, now })

    const send = async (i: number) => {
      const gateway = gateways[i % gateways.length]!
      const res = await gateway.app.request('http://gateway/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${TENANT_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: INSTANT_MODEL,
          messages: [{ role: 'user', content: 'cost' }],
          max_tokens: 4,
        }),
      })
      await res.arrayBuffer()
      return res.status
    }
    const drive = async (durationMs: number) => {
      const statuses: number[] = []
      const until = performance.now() + durationMs
      let next = 0
      await Promise.all(
        Array.from({ length: s.concurrency }, async () => {
          while (performance.now() < until) {
            const status = await send(next++)
            statuses.push(status)
            // A client told "busy" backs off a little, as the openai SDK would, instead of spinning.
            if (status === 429) await new Promise((resolve) => setTimeout(resolve, REJECTED_BACKOFF_MS))
          }
        }),
      )
      return statuses
    }
    // Warm: the key lookup (cached afterwards) and the first snapshot are start-up costs, not per request.
    await drive(Math.min(300, o.durationMs / 4))
    counter.reset()
    const started = performance.now()
    const statuses = await drive(o.durationMs)
    const elapsedMs = performance.now() - started
    const ops = counter.snapshot().dynamo
    const routed = statuses.filter((status) => status === 200).length
    const per = (n: number) => round(n / Math.max(1, routed), 3)
    const successfulWrites = ops.writes - ops.conditionalFailures
    const meanWriteUnits = successfulWrites > 0 ? ops.writeUnits / successfulWrites : 1
    return {
      gateways: s.gateways,
      slots: s.backends * s.slots,
      concurrency: s.concurrency,
      requests: statuses.length,
      routed,
      rejected: statuses.filter((status) => status === 429).length,
      requestsPerSecond: round((statuses.length / elapsedMs) * 1000, 1),
      ops,
      perRoutedRequest: {
        reads: per(ops.reads),
        writes: per(ops.writes),
        conditionalFailures: per(ops.conditionalFailures),
        readUnits: per(ops.readUnits),
        writeUnits: per(ops.writeUnits),
        writeUnitsWithFailedChecks: per(ops.writeUnits + ops.conditionalFailures * meanWriteUnits),
      },
      scansPerGatewaySecond: round((ops.calls.Scan ?? 0) / s.gateways / (elapsedMs / 1000), 2),
    }
  } finally {
    for (const g of gateways) destroyAwsClients(g.adapters.clients)
    await fleet.stop()
  }
}
