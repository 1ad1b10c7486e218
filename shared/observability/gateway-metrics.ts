import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Lane } from '../queue/job-queue.ts'
import type { LiveReadings } from './live-readings.ts'
import { PROMETHEUS_METRICS as NAMES } from './metric-names.ts'
import type { RequestFacts } from './request-facts.ts'

/** Seconds: from a cached answer (ms) to a long generation or a held request (minutes). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]
const QUEUE_WAIT_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]

/**
 * This process's Prometheus metrics (`GET /metrics`), on a registry of its own
 * so tests and several apps in one process never share counters. Counters and
 * histograms are fed per request; the fleet and queue gauges are read from
 * `LiveReadings` when scraped.
 */
export class GatewayMetrics {
  readonly registry = new Registry()
  readonly #requests: Counter<'model' | 'route' | 'hardware' | 'status'>
  readonly #duration: Histogram<'route' | 'hardware'>
  readonly #ttft: Histogram<'route' | 'hardware'>
  readonly #queueWait: Histogram<'model'>
  readonly #jobs: Counter<'status'>
  readonly #capacityWanted: Gauge<'model'>

  constructor(readings: LiveReadings, clock: () => number = Date.now) {
    const registers = [this.registry]
    this.#requests = new Counter({
      name: NAMES.requests,
      help: 'Chat completions answered, by model, route (primary, fallback, queued, none), hardware and HTTP status.',
      labelNames: ['model', 'route', 'hardware', 'status'],
      registers,
    })
    this.#duration = new Histogram({
      name: NAMES.requestDuration,
      help: 'Chat completion duration to the last body byte.',
      labelNames: ['route', 'hardware'],
      buckets: LATENCY_BUCKETS,
      registers,
    })
    this.#ttft = new Histogram({
      name: NAMES.timeToFirstToken,
      help: 'Time to the first body byte (for a stream, the first token).',
      labelNames: ['route', 'hardware'],
      buckets: LATENCY_BUCKETS,
      registers,
    })
    this.#queueWait = new Histogram({
      name: NAMES.queueWait,
      help: 'Time a queued request waited for a slot (x-spillway-queue-ms on held answers).',
      labelNames: ['model'],
      buckets: QUEUE_WAIT_BUCKETS,
      registers,
    })
    this.#jobs = new Counter({
      name: NAMES.jobs,
      help: 'Job outcomes seen by this process (held answers and, locally, the worker).',
      labelNames: ['status'],
      registers,
    })
    this.#capacityWanted = new Gauge({
      name: NAMES.capacityWanted,
      help: 'Requests waiting for a model that has no free capacity (the signal to add backends).',
      labelNames: ['model'],
      registers,
    })
    new Gauge({
      name: NAMES.slots,
      help: 'Slots per backend from its lease map: leased or free.',
      labelNames: ['hardware', 'backend', 'state'],
      registers,
      async collect() {
        const fleet = await readings.fleet()
        this.reset()
        for (const b of fleet) {
          this.set({ hardware: b.hardware, backend: b.id, state: 'leased' }, b.leased)
          this.set({ hardware: b.hardware, backend: b.id, state: 'free' }, b.free)
        }
      },
    })
    new Gauge({
      name: NAMES.backendState,
      help: 'Backend health: 0 healthy, 1 degraded (draining, KV cache nearly full, circuit half-open), 2 out (stale, circuit open, removed).',
      labelNames: ['backend', 'hardware'],
      registers,
      async collect() {
        const fleet = await readings.fleet()
        this.reset()
        for (const b of fleet) this.set({ backend: b.id, hardware: b.hardware }, b.level)
        for (const b of readings.removed(fleet)) this.set({ backend: b.id, hardware: b.hardware }, 2)
      },
    })
    new Gauge({
      name: NAMES.queueDepth,
      help: 'Messages in each overflow lane (waiting, delayed and in flight; SQS approximate counts).',
      labelNames: ['lane'],
      registers,
      async collect() {
        const lanes = await readings.queues()
        this.reset()
        for (const l of lanes) this.set({ lane: l.lane }, l.waiting + l.delayed + l.inFlight)
      },
    })
    new Gauge({
      name: NAMES.queueOldestJobAge,
      help: 'Age of the oldest queued job in each lane (from the job records; 0 when none waits).',
      labelNames: ['lane'],
      registers,
      async collect() {
        const [lanes, oldest] = await Promise.all([
          readings.queues(),
          readings.oldestQueued().catch((): Partial<Record<Lane, number>> => ({})),
        ])
        const now = clock()
        this.reset()
        for (const lane of new Set([...lanes.map((l) => l.lane), ...Object.keys(oldest)]) as Set<Lane>) {
          const createdAt = oldest[lane]
          this.set({ lane }, createdAt === undefined ? 0 : Math.max(0, now - createdAt) / 1000)
        }
      },
    })
  }

  get contentType(): string {
    return this.registry.contentType
  }

  recordRequest(facts: RequestFacts): void {
    const where = { route: facts.route, hardware: facts.hardware }
    this.#requests.inc({ model: facts.model ?? 'none', ...where, status: String(facts.status) })
    this.#duration.observe(where, facts.durationMs / 1000)
    if (facts.ttfbMs !== undefined) this.#ttft.observe(where, facts.ttfbMs / 1000)
    if (facts.queueWaitMs !== undefined)
      this.#queueWait.observe({ model: facts.model ?? 'none' }, facts.queueWaitMs / 1000)
  }

  recordJobOutcome(status: string): void {
    this.#jobs.inc({ status })
  }

  /** The "capacity wanted" port: how many requests wait for `model` right now (0 clears it). */
  capacityWanted(model: string, waiting: number): void {
    this.#capacityWanted.set({ model }, waiting)
  }

  render(): Promise<string> {
    return this.registry.metrics()
  }
}
