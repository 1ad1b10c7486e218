/**
 * What every benchmark shares: the models, fleets, keys and gateway config. Two
 * models on two disjoint fleets, so one gateway serves the zero-latency and the
 * paced runs without either stealing the other's backends.
 */
import { DEFAULT_CONFIG, type GatewayConfigInput } from '../../shared/config/gateway-config.ts'
import type { TenantPolicyInput } from '../../shared/tenants/tenant-policy.ts'

/** Answers at once (simulator speed 0): the gateway's own cost is all there is to see. */
export const INSTANT_MODEL = 'bench-instant'
/** Streams tokens on the H100 profile's schedule, scaled by `PACED_SPEED`. */
export const PACED_MODEL = 'bench-paced'
export const INSTANT_CLASS = 'h20'
export const PACED_CLASS = 'h100'
/** 0.25: ~5 ms to the first token, then ~1.75 ms per token; one request takes ~45 ms. */
export const PACED_SPEED = 0.25

export const TENANT_KEY = 'sk-bench-tenant'
export const ADMIN_KEY = 'sk-bench-admin'
export const AGENT_KEY = 'sk-bench-agent'
export const TENANT: TenantPolicyInput = { id: 'bench', mayDegrade: false, mayQueue: false }

/** The overhead fleets: 4 backends x 32 slots each, so 64 concurrent requests always find a slot. */
export const OVERHEAD_FLEET = { backends: 4, slots: 32 } as const

export function benchConfig(overrides: Partial<GatewayConfigInput> = {}): GatewayConfigInput {
  return {
    ...DEFAULT_CONFIG,
    models: [
      ...DEFAULT_CONFIG.models,
      { id: INSTANT_MODEL, tiers: [{ hardware: [INSTANT_CLASS], model: INSTANT_MODEL }] },
      { id: PACED_MODEL, tiers: [{ hardware: [PACED_CLASS], model: PACED_MODEL }] },
    ],
    // Backends are registered once and never heartbeat during a run: no background writes.
    heartbeatStaleSeconds: 3600,
    ...overrides,
  }
}

export interface Payload {
  readonly name: 'instant' | 'paced'
  readonly model: string
  readonly stream: boolean
  readonly body: Buffer
}

function payload(name: Payload['name'], model: string, stream: boolean, maxTokens: number): Payload {
  const body = {
    model,
    messages: [{ role: 'user', content: 'Summarise the benchmark in one short sentence.' }],
    max_tokens: maxTokens,
    ...(stream ? { stream: true } : {}),
  }
  return { name, model, stream, body: Buffer.from(JSON.stringify(body)) }
}

/** The same bytes go to the backend directly and through the gateway (same prompt, same seeded timing). */
export const PAYLOADS = {
  instant: payload('instant', INSTANT_MODEL, false, 16),
  paced: payload('paced', PACED_MODEL, true, 24),
} as const
