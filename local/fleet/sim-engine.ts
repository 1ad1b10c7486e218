/**
 * The state of one simulated backend, independent of HTTP: its scheduler,
 * counters, faults and the few numbers `/metrics` and `/sim/state` report.
 */
import { z } from 'zod'
import type { EngineName } from '../../shared/agent/engine-dialects.ts'
import { NO_FAULTS, type SimFaultOptions, type SimFaults, validateFaults } from './faults.ts'
import { HARDWARE_PROFILES, type HardwareClass, type HardwareProfile } from './hardware-profiles.ts'
import { Scheduler } from './scheduler.ts'
import { SimStats } from './sim-stats.ts'

export interface SimEngineOptions {
  readonly id: string
  readonly hardware: HardwareClass
  readonly models: readonly string[]
  readonly maxNumSeqs: number
  /** Longest waiting queue before new requests get 503 (default 128). */
  readonly maxWaiting?: number
  /** Scales every delay: 0 = none, 0.01 = fast tests, 1 = real time. */
  readonly speed?: number
  readonly faults?: SimFaultOptions
  /** The model server whose `/metrics` (and `/props`, `/info`) the simulator imitates; vLLM by default. */
  readonly engine?: EngineName
}

export const DEFAULT_MAX_WAITING = 128

export type SetFaultsResult =
  | { readonly ok: true; readonly faults: SimFaults }
  | { readonly ok: false; readonly problems: readonly string[] }

/** The body `/sim/faults` accepts: any subset of the faults, nothing else. */
export const faultPatch = z.strictObject({
  seed: z.number().optional(),
  errorRate: z.number().optional(),
  rateLimitRate: z.number().optional(),
  retryAfterSeconds: z.number().optional(),
  redirectRate: z.number().optional(),
  slowStartMs: z.number().optional(),
  stallAfterTokens: z.number().optional(),
  cutAfterTokens: z.number().optional(),
  cutMidEventAfterTokens: z.number().optional(),
  crash: z.boolean().optional(),
})

export class SimEngine {
  readonly id: string
  readonly hardware: HardwareClass
  readonly profile: HardwareProfile
  readonly models: readonly string[]
  readonly engine: EngineName
  readonly speed: number
  readonly scheduler: Scheduler
  readonly stats = new SimStats()
  faults: SimFaults = NO_FAULTS
  slowStartUntil = 0
  crashed = false
  /** Set by the HTTP server: closes every connection and stops listening. */
  onCrash: () => void = () => {}

  constructor(options: SimEngineOptions) {
    this.id = options.id
    this.hardware = options.hardware
    this.profile = HARDWARE_PROFILES[options.hardware]
    this.models = options.models
    this.engine = options.engine ?? 'vllm'
    this.speed = options.speed ?? 1
    if (!(this.speed >= 0)) throw new Error(`speed must be ≥ 0, got ${this.speed}`)
    this.scheduler = new Scheduler({
      maxNumSeqs: options.maxNumSeqs,
      maxWaiting: options.maxWaiting ?? DEFAULT_MAX_WAITING,
    })
    const initial = this.setFaults(options.faults ?? {})
    if (!initial.ok) throw new Error(`invalid faults for ${this.id}: ${initial.problems.join('; ')}`)
  }

  /** Merges a patch into the faults; setting `slowStartMs` starts a slow start now. */
  setFaults(patch: SimFaultOptions): SetFaultsResult {
    const next: SimFaults = { ...this.faults, ...patch }
    const problems = validateFaults(next)
    if (problems.length > 0) return { ok: false, problems }
    this.faults = next
    if (patch.slowStartMs !== undefined) this.slowStartUntil = Date.now() + next.slowStartMs
    if (next.crash && !this.crashed) {
      this.crashed = true
      this.onCrash()
    }
    return { ok: true, faults: next }
  }

  isSlowStarting(): boolean {
    return Date.now() < this.slowStartUntil
  }

  kvCacheUsage(): number {
    return Math.min(1, this.stats.kvTokens / this.profile.kvCacheTokens)
  }

  reset(): void {
    this.stats.reset()
    this.scheduler.resetPeaks()
  }

  snapshot() {
    const { scheduler, stats } = this
    return {
      id: this.id,
      hardware: this.hardware,
      engine: this.engine,
      models: this.models,
      maxNumSeqs: scheduler.maxNumSeqs,
      maxWaiting: scheduler.maxWaiting,
      speed: this.speed,
      running: scheduler.running,
      waiting: scheduler.waiting,
      peak: scheduler.peak,
      peakRunning: scheduler.peakRunning,
      kvCacheUsage: this.kvCacheUsage(),
      slowStarting: this.isSlowStarting(),
      crashed: this.crashed,
      faults: this.faults,
      totals: structuredClone(stats.totals),
      recent: stats.recent.map((record) => ({ ...record })),
    }
  }
}

export type SimStateSnapshot = ReturnType<SimEngine['snapshot']>
