import * as z from '../validation/zod-mini.ts'

/** What a tenant may do; every API key maps to one tenant. */
export const TenantPolicySchema = z.object({
  id: z.string().check(z.regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, _ and - (max 63)')),
  /** Model ids this tenant may call; `["*"]` for all configured models. */
  models: z._default(z.array(z.string().check(z.minLength(1))).check(z.minLength(1)), ['*']),
  /** May a request be served by a degraded (CPU) tier when the GPU tiers are full? */
  mayDegrade: z._default(z.boolean(), false),
  /**
   * May a request that finds no slot (or whose model has no healthy backend right now)
   * become a queued job? Only `Prefer: respond-async` then gets a 202; any other request is held.
   */
  mayQueue: z._default(z.boolean(), false),
  /** Queue lane for this tenant's jobs: interactive jobs are never stuck behind batch ones. */
  priority: z._default(z.enum(['interactive', 'batch']), 'interactive'),
  /**
   * The longest a synchronous request that had to queue is held for its answer (RFC 7240:
   * `Prefer: wait=N` may only shorten it; the runtime's own limit caps it too).
   */
  maxHoldSeconds: z._default(z.int().check(z.gte(0), z.lte(900)), 300),
  /**
   * Deprecated and ignored: it once decided when a held request turned into a 202. Kept so
   * stored keys that carry it still parse; the hold is `maxHoldSeconds`.
   */
  defaultWaitSeconds: z.optional(z.int().check(z.gte(0), z.lte(900))),
  /** Seconds after which a queued job expires instead of running. */
  jobDeadlineSeconds: z._default(z.int().check(z.gte(1), z.lte(14 * 24 * 3600)), 3600),
  /**
   * May requests carry engine scheduling fields (vLLM's `priority`, …; see
   * SCHEDULING_FIELDS) through to backends? Off: any tenant could jump every queue.
   */
  passSchedulingFields: z._default(z.boolean(), false),
  /**
   * Synchronous requests this tenant may have held (waiting for a queued job's answer)
   * at once, across all gateway instances; one more gets `429 too_many_holds`, or a
   * 202 with `Prefer: respond-async`. Absent means no limit (and no write).
   */
  maxConcurrentHolds: z.optional(z.int().check(z.gte(0), z.lte(10_000))),
  /** Requests per minute across all gateway instances; absent means no limit (and no write). */
  rateLimitPerMinute: z.optional(z.int().check(z.gte(1))),
})

export type TenantPolicy = z.output<typeof TenantPolicySchema>
export type TenantPolicyInput = z.input<typeof TenantPolicySchema>

export function tenantMayUseModel(policy: TenantPolicy, modelId: string): boolean {
  return policy.models.includes('*') || policy.models.includes(modelId)
}
