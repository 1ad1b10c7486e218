import { type ApiKind, backendApis } from '../backends/backend-apis.ts'
import type { BackendRecord } from '../backends/backend-record.ts'
import { circuitOpenForAll, isInRotation } from '../backends/backend-record.ts'

/** The part of a model tier that decides which backends may serve it. */
export interface TierSpec {
  readonly hardware: readonly string[]
  readonly model: string
  /** The API the tier's requests use: a backend that does not serve it is no candidate. Chat when absent. */
  readonly api?: ApiKind
}

/** The instant a backend is judged at: `staleBefore` is the oldest heartbeat still fresh. */
export interface EligibilityInstant {
  readonly now: number
  readonly staleBefore: number
}

/**
 * Why a backend may or may not take a tier's request now. The router's index
 * keeps the parts apart (membership fixes its positions, rotation and circuit
 * set its timers); `/v1/models` only needs `eligible`. One function for both, so
 * what the models list calls available is what the router would draw from.
 */
export interface Eligibility {
  /** Hardware, model and API match: a member of the tier whatever its state. */
  readonly serves: boolean
  /** Active with a fresh heartbeat. */
  readonly inRotation: boolean
  /** In rotation and a process's breaker has it out for everyone until `circuitOpenUntil`. */
  readonly circuitOpen: boolean
  /** Serves the tier, in rotation, no circuit open for all: a candidate, slots aside. */
  readonly eligible: boolean
}

export function servesTier(tier: TierSpec, backend: BackendRecord): boolean {
  return (
    tier.hardware.includes(backend.hardware) &&
    backend.models.includes(tier.model) &&
    backendApis(backend).includes(tier.api ?? 'chat')
  )
}

export function tierEligibility(tier: TierSpec, backend: BackendRecord, at: EligibilityInstant): Eligibility {
  const serves = servesTier(tier, backend)
  const inRotation = isInRotation(backend, at.staleBefore)
  const circuitOpen = inRotation && circuitOpenForAll(backend, at.now)
  return { serves, inRotation, circuitOpen, eligible: serves && inRotation && !circuitOpen }
}
