import type { BackendRecord } from '../backends/backend-record.ts'
import type { JobStore } from '../jobs/job-store.ts'
import type { Lane } from '../queue/job-queue.ts'
import type { LaneDepth, QueueDepthReader } from '../queue/queue-depth.ts'
import type { CircuitState } from '../router/circuit-breakers.ts'
import { type BackendHealth, backendHealth } from './backend-health.ts'

export interface FleetSource {
  /** The backends as this process's router sees them (its cached snapshot). */
  backends(now: number): Promise<readonly BackendRecord[]>
  /** This process's circuit breaker for the backend. */
  circuit(backendId: string, now: number): CircuitState
  readonly heartbeatStaleMs: number
}

export interface BackendReading extends BackendHealth {
  readonly id: string
  readonly hardware: string
  readonly maxConcurrency: number
  readonly state: string
  readonly heartbeatAgeMs: number
  readonly load: BackendRecord['load']
}

export interface LiveSources {
  readonly fleet?: FleetSource
  readonly queueDepth?: QueueDepthReader
  /** Where the oldest queued job per lane is read (the jobs table's open-status index). */
  readonly jobs?: Pick<JobStore, 'oldestOpen'>
}

/** Past this many queued jobs read, the oldest age is a lower bound (the index is not sorted by age). */
const MAX_AGED_JOBS = 1000

export interface LiveReadingsOptions extends LiveSources {
  readonly clock: () => number
  /** Scrapes and dashboard polls within this share one read (default 1 s). */
  readonly cacheMs?: number
}

/**
 * The fleet and the queues as `/metrics` and the dashboard read them: one read
 * per `cacheMs` whoever asks, so a scraper and a dozen open dashboards cost the
 * same as one. Backends seen once and gone since are reported as removed.
 */
export class LiveReadings {
  readonly #clock: () => number
  readonly #cacheMs: number
  #sources: LiveSources
  #fleet: { at: number; value: Promise<BackendReading[]> } | undefined
  #queues: { at: number; value: Promise<readonly LaneDepth[]> } | undefined
  #oldest: { at: number; value: Promise<Partial<Record<Lane, number>>> } | undefined
  readonly #seen = new Map<string, string>()

  constructor(options: LiveReadingsOptions) {
    this.#clock = options.clock
    this.#cacheMs = options.cacheMs ?? 1000
    this.#sources = options
  }

  /** Sets where readings come from (the app's routing view, its queue reader). */
  attach(sources: LiveSources): void {
    this.#sources = sources
    this.#fleet = undefined
    this.#queues = undefined
    this.#oldest = undefined
  }

  /**
   * Creation time (epoch ms) of the oldest queued job per lane; a lane with none is absent.
   * SQS has no such attribute (and reading a message's SentTimestamp means receiving
   * it, which hides it from workers and counts toward its DLQ redrive), so it comes
   * from the job records: `createdAt` is when the request queued, kept across
   * re-enqueues for backoff, so the age is how long a request has waited.
   */
  oldestQueued(): Promise<Partial<Record<Lane, number>>> {
    const now = this.#clock()
    const reader = this.#sources.jobs?.oldestOpen?.bind(this.#sources.jobs)
    if (!reader) return Promise.resolve({})
    if (!this.#oldest || now - this.#oldest.at >= this.#cacheMs) {
      this.#oldest = {
        at: now,
        value: reader({ status: 'queued', max: MAX_AGED_JOBS }).then((r) => r?.byLane ?? {}),
      }
      this.#oldest.value.catch(() => (this.#oldest = undefined))
    }
    return this.#oldest.value
  }

  fleet(): Promise<BackendReading[]> {
    const now = this.#clock()
    if (!this.#fleet || now - this.#fleet.at >= this.#cacheMs) {
      this.#fleet = { at: now, value: this.#readFleet(now) }
      this.#fleet.value.catch(() => (this.#fleet = undefined))
    }
    return this.#fleet.value
  }

  queues(): Promise<readonly LaneDepth[]> {
    const now = this.#clock()
    const reader = this.#sources.queueDepth
    if (!reader) return Promise.resolve([])
    if (!this.#queues || now - this.#queues.at >= this.#cacheMs) {
      this.#queues = { at: now, value: reader.read() }
      this.#queues.value.catch(() => (this.#queues = undefined))
    }
    return this.#queues.value
  }

  /** Ids of backends that were in an earlier reading and are no longer registered. */
  removed(current: readonly BackendReading[]): { id: string; hardware: string }[] {
    const ids = new Set(current.map((b) => b.id))
    return [...this.#seen].filter(([id]) => !ids.has(id)).map(([id, hardware]) => ({ id, hardware }))
  }

  async #readFleet(now: number): Promise<BackendReading[]> {
    const source = this.#sources.fleet
    if (!source) return []
    const backends = await source.backends(now)
    const readings = backends.map((b) => ({
      id: b.id,
      hardware: b.hardware,
      maxConcurrency: b.maxConcurrency,
      state: b.state,
      heartbeatAgeMs: Math.max(0, now - b.heartbeatAt),
      load: b.load,
      ...backendHealth(b, {
        now,
        heartbeatStaleMs: source.heartbeatStaleMs,
        circuit: (id) => source.circuit(id, now),
      }),
    }))
    for (const b of readings) this.#seen.set(b.id, b.hardware)
    return readings.sort((a, b) => a.hardware.localeCompare(b.hardware) || a.id.localeCompare(b.id))
  }
}
