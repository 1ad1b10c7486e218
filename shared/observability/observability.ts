import { API_PATHS } from '../backends/backend-apis.ts'
import { type AppLogger, errorFields, silentLogger } from '../logging.ts'
import type { RouteDecision } from '../router/router.ts'
import { GatewayMetrics } from './gateway-metrics.ts'
import { LiveReadings, type LiveSources } from './live-readings.ts'
import { RecentDecisions } from './recent-decisions.ts'
import { REQUEST_LOG_MESSAGE, type RequestFacts, requestLogFields } from './request-facts.ts'
import { RequestRates } from './request-rates.ts'

/** Somewhere else each request's facts go: CloudWatch EMF on Lambda. Awaited before the body ends. */
export interface RequestSink {
  recordRequest(facts: RequestFacts): void | Promise<void>
  capacityWanted?(model: string, waiting: number): void | Promise<void>
}

export interface ObservabilityOptions {
  readonly clock?: () => number
  /** Gets the one line per request, at info. */
  readonly log?: AppLogger
  readonly sinks?: readonly RequestSink[]
  /**
   * Serve `/metrics` and the dashboard's data without the admin key. Only for
   * the local stack, which listens on 127.0.0.1; never on a deployment.
   */
  readonly openWithoutKey?: boolean
}

/**
 * One process's view of what it serves: Prometheus metrics, the per-request log
 * line, request rates and the router's last decisions, plus the fleet and queue
 * readings the app attaches. `createApp` makes one when none is injected; the
 * local stack injects its own so the worker's job outcomes land in it too.
 *
 * @example
 * const observability = new Observability({ log })
 * const app = createApp({ ...deps, observability })
 * observability.capacityWanted('deepseek-r1-distill-llama-8b', 3)
 */
export class Observability {
  readonly clock: () => number
  readonly openWithoutKey: boolean
  readonly decisions = new RecentDecisions()
  readonly rates = new RequestRates()
  readonly readings: LiveReadings
  readonly metrics: GatewayMetrics
  readonly #jobOutcomes = new Map<string, number>()
  readonly #log: AppLogger
  readonly #sinks: readonly RequestSink[]

  constructor(options: ObservabilityOptions = {}) {
    this.clock = options.clock ?? Date.now
    this.openWithoutKey = options.openWithoutKey ?? false
    this.#log = options.log ?? silentLogger
    this.#sinks = options.sinks ?? []
    this.readings = new LiveReadings({ clock: this.clock })
    this.metrics = new GatewayMetrics(this.readings, this.clock)
  }

  /** The app's routing view of the fleet and its queue reader: what the gauges and the dashboard read. */
  attach(sources: LiveSources): void {
    this.readings.attach(sources)
  }

  async recordRequest(facts: RequestFacts): Promise<void> {
    this.#log.info(REQUEST_LOG_MESSAGE, requestLogFields(facts))
    if (!isRoutedPath(facts.path)) return
    this.metrics.recordRequest(facts)
    this.rates.record(facts.route, facts.hardware, this.clock())
    await Promise.all(
      this.#sinks.map(async (sink) => {
        try {
          await sink.recordRequest(facts)
        } catch (error) {
          this.#log.warn('metrics sink failed', errorFields(error))
        }
      }),
    )
  }

  recordJobOutcome(status: string): void {
    this.metrics.recordJobOutcome(status)
    this.#jobOutcomes.set(status, (this.#jobOutcomes.get(status) ?? 0) + 1)
  }

  jobOutcomes(): Record<string, number> {
    return Object.fromEntries(this.#jobOutcomes)
  }

  /** The "capacity wanted" port: requests waiting for `model` with no free capacity (0 clears it). */
  capacityWanted(model: string, waiting: number): void {
    this.metrics.capacityWanted(model, waiting)
    for (const sink of this.#sinks)
      void Promise.resolve(sink.capacityWanted?.(model, waiting)).catch(() => undefined)
  }

  onDecision(decision: RouteDecision): void {
    this.decisions.push({ at: this.clock(), ...decision })
  }
}

const ROUTED_PATHS: ReadonlySet<string> = new Set(Object.values(API_PATHS))

/** The routed endpoints (every inference API): the only ones counted in the request metrics (their labels mean something). */
export function isRoutedPath(path: string): boolean {
  return ROUTED_PATHS.has(path)
}
