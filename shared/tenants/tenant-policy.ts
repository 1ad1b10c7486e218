import { z } from 'zod'

/** What a tenant may do; every API key maps to one tenant. */
export const TenantPolicySchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, _ and - (max 63)'),
  /** Model ids this tenant may call; `["*"]` for all configured models. */
  models: z.array(z.string().min(1)).min(1).default(['*']),
  /** May a request be served by a degraded (CPU) tier when the GPU tiers are full? */
  mayDegrade: z.boolean().default(false),
  /** May a request that finds no slot become a queued job (202 or a held wait)? */
  mayQueue: z.boolean().default(false),
  /** Queue lane for this tenant's jobs: interactive jobs are never stuck behind batch ones. */
  priority: z.enum(['interactive', 'batch']).default('interactive'),
  /** Seconds a synchronous request is held while its job is queued, when it sends no `Prefer: wait`. */
  defaultWaitSeconds: z.number().int().min(0).max(900).default(0),
  /** Seconds after which a queued job expires instead of running. */
  jobDeadlineSeconds: z
    .number()
    .int()
    .min(1)
    .max(14 * 24 * 3600)
    .default(3600),
  /** Requests per minute across all gateway instances; absent means no limit (and no write). */
  rateLimitPerMinute: z.number().int().min(1).optional(),
})

export type TenantPolicy = z.output<typeof TenantPolicySchema>
export type TenantPolicyInput = z.input<typeof TenantPolicySchema>

export function tenantMayUseModel(policy: TenantPolicy, modelId: string): boolean {
  return policy.models.includes('*') || policy.models.includes(modelId)
}
