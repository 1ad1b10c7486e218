/**
 * 5. Overflow: every slot held, a burst of `burstFactor` x capacity sent with
 * `Prefer: respond-async` (all queued: job in DynamoDB, message in SQS), then
 * the slots freed and the burst drained by the real worker handler fed by the
 * local SQS poller (batch size and concurrency as the CDK stack's event source).
 * Slot events come from the capacity store itself (every lease acquired and
 * released in this process), so "slot freed → queued job started" is measured
 * where the design decides it, not guessed from job timestamps.
 */

import { startFleet } from '../local/fleet/fleet.ts'
import { seedTenantKey } from '../local/tenants.ts'
import { startLocalWorkers } from '../local/worker-poller.ts'
import { destroyAwsClients } from '../shared/aws/clients.ts'
import { DynamoCapacityStore } from '../shared/capacity/dynamo-capacity-store.ts'
import { createApp } from '../shared/http/app.ts'
import { isTerminal } from '../shared/jobs/job-record.ts'
import { silentLogger } from '../shared/logging.ts'
import { createAwsAdapters } from '../shared/runtime/aws-adapters.ts'
import { gatewayDeps } from '../shared/runtime/gateway-deps.ts'
import { resolveSecrets } from '../shared/runtime/secrets.ts'
import { type HeldStreamsMeasured, measureHeldStreams } from './held-streams.ts'
import { countAwsCalls } from './lib/aws-calls.ts'
import { benchConfig, INSTANT_CLASS } from './lib/bench-setup.ts'
import { drainFigures } from './lib/drain-figures.ts'
import type { Progress } from './lib/progress.ts'
import { type Percentiles, round } from './lib/stats.ts'
import { freshRuntimeEnv } from './support/bench-tables.ts'
import { BLOCKER_PREFIX, recordLeaseEvents } from './support/lease-events.ts'
import type { LocalAwsInfo } from './support/rig.ts'

const MODEL = 'bench-overflow'
const KEY = 'sk-bench-queue'
/** The CDK stack's SQS event source: batch size 5, at most 5 concurrent invocations. */
const EVENT_SOURCE = { batchSize: 5, concurrency: 5 }

export interface OverflowBenchOptions {
  readonly aws: LocalAwsInfo
  readonly slots: number
  readonly burstFactor: number
  /** Simulator speed: 1 = an H20's real timing for a 16-token answer (~130 ms). */
  readonly speed: number
  readonly progress: Progress
}

export interface OverflowMeasured {
  readonly slots: number
  readonly jobs: number
  /** Accepted with 202 (the rest would be a failure of the overflow path). */
  readonly accepted: number
  readonly succeeded: number
  /** Jobs not succeeded when the drain ended (failed, expired, or never finished). */
  readonly lost: number
  /** Backend calls made: at most one effective execution per job means exactly `jobs`. */
  readonly backendCalls: number
  /** Mean time a job held its slot (lease acquired → released), ms. */
  readonly serviceMs: number
  /** The k-th queued job's lease versus the k-th slot freed: the wait a free slot sat through. */
  readonly slotFreeToStartMs: Percentiles
  /** The same for the slots freed by another process (the blockers): the worker sees them on its next snapshot. */
  readonly crossProcessFreeToStartMs: Percentiles
  readonly drainMs: number
  /** jobs × serviceMs / slots. */
  readonly idealDrainMs: number
  readonly drainRatio: number
  /** Share of slot-time left idle between the slots freeing and the last queued job starting. */
  readonly idleShareWhileBacklog: number
  /** Per job: DynamoDB and SQS as billed (gateway + worker; SQS includes the pollers' empty receives). */
  readonly perJob: {
    readonly dynamoWrites: number
    readonly dynamoReads: number
    readonly dynamoWriteUnits: number
    readonly dynamoReadUnits: number
    readonly conditionalFailures: number
    readonly sqsRequests: number
    readonly sqsCalls: Readonly<Record<string, number>>
    /** Receives that returned messages: one worker invocation each on Lambda. */
    readonly workerInvocations: number
  }
  readonly timeline: readonly { readonly ms: number; readonly queued: number; readonly running: number }[]
  /** Held streams (no `Prefer`) on the saturated fleet: slot freed → first live chunk. */
  readonly heldStreams: HeldStreamsMeasured
}

export type OverflowResult = { readonly skipped: string } | OverflowMeasured

export async function runOverflow(o: OverflowBenchOptions): Promise<OverflowResult> {
  const env = await freshRuntimeEnv({
    aws: o.aws,
    prefix: 'bench-overflow',
    config: benchConfig({ models: [{ id: MODEL, tiers: [{ hardware: [INSTANT_CLASS], model: MODEL }] }] }),
  })
  const fleet = await startFleet({
    spec: `${INSTANT_CLASS}=1x${o.slots}`,
    speed: o.speed,
    models: { [INSTANT_CLASS]: [MODEL] },
  })
  const backend = fleet.backends[0]!
  // The bench's own calls (blocking slots, reading jobs back) go through these and are not counted.
  const own = createAwsAdapters(env)
  const gatewayAdapters = createAwsAdapters(env)
  const counter = countAwsCalls({
    ignore: [own.clients.dynamo, own.clients.doc, own.clients.lean, own.clients.sqs],
  })
  const leases = recordLeaseEvents(DynamoCapacityStore.prototype)
  let workers: Awaited<ReturnType<typeof startLocalWorkers>> | undefined
  try {
    await own.registry.register({
      registration: {
        id: backend.id,
        url: backend.url,
        hardware: backend.hardware,
        models: backend.models,
        maxConcurrency: o.slots,
      },
      now: Date.now(),
    })
    await seedTenantKey({
      tenants: own.tenants,
      policy: { id: 'bench-queue', mayQueue: true },
      key: KEY,
      now: Date.now(),
    })
    const app = createApp(
      gatewayDeps({ env, adapters: gatewayAdapters, secrets: await resolveSecrets(env), log: silentLogger }),
    )
    workers = await startLocalWorkers({
      env,
      ...EVENT_SOURCE,
      waitTimeSeconds: 1,
      reaperIntervalMs: false,
      log: silentLogger,
    })

    const blockers: string[] = []
    for (let i = 0; i < o.slots; i++) {
      const leaseId = `${BLOCKER_PREFIX}${i}-${Date.now()}`
      const now = Date.now()
      const held = await own.capacity.acquire({
        backendId: backend.id,
        leaseId,
        now,
        expiresAt: now + 600_000,
        staleBefore: 0,
        reclaim: [],
      })
      if (!held.ok) throw new Error('could not hold the slots before the burst')
      blockers.push(held.leaseId)
    }
    const jobsCount = o.slots * o.burstFactor
    counter.reset()
    leases.reset()
    const responses = await Promise.all(
      Array.from({ length: jobsCount }, (_, i) =>
        app.request('http://gateway/v1/chat/completions', {
          method: 'POST',
          headers: {
            authorization: `Bearer ${KEY}`,
            'content-type': 'application/json',
            prefer: 'respond-async',
          },
          body: JSON.stringify({
            model: MODEL,
            messages: [{ role: 'user', content: `burst ${i}` }],
            max_tokens: 16,
          }),
        }),
      ),
    )
    const accepted = responses.filter((r) => r.status === 202)
    const ids = await Promise.all(accepted.map(async (r) => ((await r.json()) as { id: string }).id))
    o.progress.detail(
      `${accepted.length} of ${jobsCount} requests queued (202); freeing the ${o.slots} slots`,
    )

    const freedAt = performance.now()
    for (const leaseId of blockers) await own.capacity.release({ backendId: backend.id, leaseId })
    const drained = await waitUntil(() => leases.count('release', 'job') >= accepted.length, 120_000)
    const calls = counter.snapshot()
    const jobs = await Promise.all(ids.map((id) => own.jobs.get(id)))
    const settled = await waitUntil(async () => {
      const fresh = await Promise.all(ids.map((id) => own.jobs.get(id)))
      jobs.splice(0, jobs.length, ...fresh)
      return fresh.every((job) => job && isTerminal(job.status))
    }, 10_000)
    const succeeded = jobs.filter((job) => job?.status === 'succeeded').length
    if (!drained || !settled)
      o.progress.detail('the drain did not finish in time: unfinished jobs count as lost')

    const events = leases.events().map((e) => ({ ...e, at: e.at - freedAt }))
    const figures = drainFigures({ events, slots: o.slots, jobs: accepted.length })
    const per = (n: number) => round(n / Math.max(1, accepted.length), 3)
    // Counted before the held streams add their own runs.
    const backendCalls = backend.state().totals.requests
    const heldStreams = await measureHeldStreams({
      app,
      capacity: own.capacity,
      backendId: backend.id,
      slots: o.slots,
      requests: o.slots * 3,
      model: MODEL,
      key: KEY,
      leases,
    })
    const result: OverflowMeasured = {
      slots: o.slots,
      jobs: jobsCount,
      accepted: accepted.length,
      succeeded,
      lost: jobsCount - succeeded,
      backendCalls,
      ...figures,
      perJob: {
        dynamoWrites: per(calls.dynamo.writes),
        dynamoReads: per(calls.dynamo.reads),
        dynamoWriteUnits: per(calls.dynamo.writeUnits),
        dynamoReadUnits: per(calls.dynamo.readUnits),
        conditionalFailures: per(calls.dynamo.conditionalFailures),
        sqsRequests: per(calls.sqsRequests),
        sqsCalls: Object.fromEntries(Object.entries(calls.sqs).map(([op, n]) => [op, per(n)])),
        workerInvocations: per(calls.sqsNonEmptyReceives),
      },
      heldStreams,
    }
    o.progress.detail(
      `${succeeded}/${jobsCount} succeeded, ${result.backendCalls} backend calls; drained in ${result.drainMs} ms ` +
        `(ideal ${result.idealDrainMs} ms); slot free → start p50 ${result.slotFreeToStartMs.p50} ms, ` +
        `p99 ${result.slotFreeToStartMs.p99} ms; idle ${(result.idleShareWhileBacklog * 100).toFixed(1)}%; ` +
        `held streams ${heldStreams.completed}/${heldStreams.requests}: slot freed → first chunk ` +
        `p50 ${round(heldStreams.slotFreedToFirstChunkMs.p50, 1)} ms, p99 ${round(heldStreams.slotFreedToFirstChunkMs.p99, 1)} ms`,
    )
    return result
  } finally {
    await workers?.stop()
    leases.restore()
    counter.restore()
    destroyAwsClients(own.clients)
    destroyAwsClients(gatewayAdapters.clients)
    await fleet.stop()
  }
}

async function waitUntil(check: () => boolean | Promise<boolean>, withinMs: number): Promise<boolean> {
  const until = performance.now() + withinMs
  while (performance.now() < until) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return check()
}
