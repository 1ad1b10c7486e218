import type { JobStore } from '../jobs/job-store.ts'
import type { Lane } from '../queue/job-queue.ts'
import type { Observability } from './observability.ts'

/** Past this many open jobs per status the dashboard's count stops (each is a read unit's share). */
const MAX_COUNTED_JOBS = 1000

/**
 * Everything the dashboard page draws, in one JSON document: pools per hardware
 * class (slots and health per backend), the queues, request rates by route and
 * hardware, job outcomes and the router's last decisions. Reads are the cached
 * live readings, so polling it costs at most one fleet and one queue read per second.
 */
export async function dashboardData(observability: Observability, jobs?: JobStore) {
  const now = observability.clock()
  const [fleet, lanes, oldest, queued, running] = await Promise.all([
    observability.readings.fleet(),
    observability.readings.queues().catch(() => []),
    observability.readings.oldestQueued().catch((): Partial<Record<Lane, number>> => ({})),
    jobs?.countOpen({ status: 'queued', max: MAX_COUNTED_JOBS }).catch(() => undefined),
    jobs?.countOpen({ status: 'running', max: MAX_COUNTED_JOBS }).catch(() => undefined),
  ])
  const pools = new Map<string, typeof fleet>()
  for (const backend of fleet) pools.set(backend.hardware, [...(pools.get(backend.hardware) ?? []), backend])
  return {
    at: new Date(now).toISOString(),
    // Accelerators first, CPU last: the order requests spill in.
    pools: [...pools]
      .sort(([a], [b]) => Number(a === 'cpu') - Number(b === 'cpu') || a.localeCompare(b))
      .map(([hardware, backends]) => ({
        hardware,
        leased: backends.reduce((n, b) => n + b.leased, 0),
        slots: backends.reduce((n, b) => n + b.maxConcurrency, 0),
        backends: backends.map((b) => ({
          id: b.id,
          leased: b.leased,
          free: b.free,
          maxConcurrency: b.maxConcurrency,
          health: (['healthy', 'degraded', 'out'] as const)[b.level],
          reasons: b.reasons,
          heartbeatAgeMs: b.heartbeatAgeMs,
          running: b.load.running,
          waiting: b.load.waiting,
          kvCacheUsage: b.load.kvCacheUsage,
        })),
      })),
    removed: observability.readings.removed(fleet).map((b) => b.id),
    // Next to each lane's depth, how long its oldest queued request has waited (null: none waits).
    queues: lanes.map((lane) => {
      const createdAt = oldest[lane.lane]
      return { ...lane, oldestJobAgeMs: createdAt === undefined ? null : Math.max(0, now - createdAt) }
    }),
    jobs: {
      ...(queued ? { queued: queued.count } : {}),
      ...(running ? { running: running.count } : {}),
      outcomes: observability.jobOutcomes(),
    },
    rates: observability.rates.series(now),
    decisions: observability.decisions.list().map((d) => ({ ...d, at: new Date(d.at).toISOString() })),
  }
}

export type DashboardData = Awaited<ReturnType<typeof dashboardData>>
