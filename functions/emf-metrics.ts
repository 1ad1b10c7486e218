import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics'
import type { BackendRecord } from '../shared/backends/backend-record.ts'
import { backendHealth } from '../shared/observability/backend-health.ts'
import { CLOUDWATCH_METRICS as CW, METRICS_NAMESPACE } from '../shared/observability/metric-names.ts'
import type { RequestSink } from '../shared/observability/observability.ts'
import { isRoutedPath } from '../shared/observability/observability.ts'
import type { RequestFacts } from '../shared/observability/request-facts.ts'

/**
 * CloudWatch embedded metric format through Powertools Metrics: each call
 * writes one EMF line to stdout at once (publishStoredMetrics), which on Lambda
 * must happen before the invocation ends. One `Metrics` per line, because each
 * line carries its own dimension set.
 */
function emf(serviceName: string, dimensions: Record<string, string>, add: (m: Metrics) => void): void {
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName })
  metrics.addDimensions(dimensions)
  add(metrics)
  metrics.publishStoredMetrics()
}

/** The gateway's per-request figures as EMF (the Lambda twin of the Prometheus counters). */
export class EmfRequestSink implements RequestSink {
  readonly #service: string

  constructor(options: { serviceName: string }) {
    this.#service = options.serviceName
  }

  recordRequest(facts: RequestFacts): void {
    if (!isRoutedPath(facts.path)) return
    const dimensions = { Route: facts.route, Hardware: facts.hardware, Status: String(facts.status) }
    emf(this.#service, dimensions, (m) => {
      m.addMetric(CW.requests, MetricUnit.Count, 1)
      m.addMetric(CW.requestDuration, MetricUnit.Milliseconds, facts.durationMs)
      if (facts.ttfbMs !== undefined) m.addMetric(CW.timeToFirstToken, MetricUnit.Milliseconds, facts.ttfbMs)
      if (facts.queueWaitMs !== undefined)
        m.addMetric(CW.queueWait, MetricUnit.Milliseconds, facts.queueWaitMs)
    })
  }

  capacityWanted(model: string, waiting: number): void {
    emf(this.#service, { Model: model }, (m) => m.addMetric(CW.capacityWanted, MetricUnit.Count, waiting))
  }
}

/** Job outcomes of one invocation (worker, DLQ handler), one line per status. */
export function emitJobOutcomes(serviceName: string, counts: Readonly<Record<string, number>>): void {
  for (const [status, count] of Object.entries(counts)) {
    if (count > 0)
      emf(serviceName, { Status: status }, (m) => m.addMetric(CW.jobOutcomes, MetricUnit.Count, count))
  }
}

/**
 * Slots per hardware class and each backend's health, from one snapshot: the
 * reaper writes them every run, so the dashboard's capacity graphs have a point
 * a minute whether or not requests arrive.
 */
export function emitFleetGauges(options: {
  serviceName: string
  backends: readonly BackendRecord[]
  now: number
  heartbeatStaleMs: number
}): void {
  const perHardware = new Map<string, { leased: number; free: number }>()
  for (const backend of options.backends) {
    const health = backendHealth(backend, {
      now: options.now,
      heartbeatStaleMs: options.heartbeatStaleMs,
      circuit: () => 'closed',
    })
    const slots = perHardware.get(backend.hardware) ?? { leased: 0, free: 0 }
    slots.leased += health.leased
    slots.free += health.free
    perHardware.set(backend.hardware, slots)
    emf(options.serviceName, { Backend: backend.id }, (m) =>
      m.addMetric(CW.backendState, MetricUnit.Count, health.level),
    )
  }
  for (const [hardware, slots] of perHardware) {
    emf(options.serviceName, { Hardware: hardware }, (m) => {
      m.addMetric(CW.slotsInUse, MetricUnit.Count, slots.leased)
      m.addMetric(CW.slotsFree, MetricUnit.Count, slots.free)
    })
  }
}
