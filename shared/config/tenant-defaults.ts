import { type TenantPolicy, TenantPolicySchema } from '../tenants/tenant-policy.ts'
import * as z from '../validation/zod-mini.ts'

/**
 * Policy fields a configuration file sets for the tenants that the local stack and
 * `npm run keys -- create` make, before the tenant's own options. Any field of
 * {@link TenantPolicySchema} but `id`, each optional and checked by that schema, so a
 * field added to the policy is accepted here without a second definition.
 */
export const TenantDefaultsSchema = z.strictObject(z.partial(z.omit(TenantPolicySchema, { id: true })).shape)

export type TenantDefaults = Partial<Omit<TenantPolicy, 'id'>>

/**
 * The fields the input named, validated. `z.partial` keeps each field's own default,
 * so its output would name every field; only the named ones are defaults worth
 * applying, or a default file would override the policy schema's own defaults.
 */
export function namedTenantDefaults(input: unknown, parsed: TenantDefaults): TenantDefaults {
  if (!input || typeof input !== 'object') return {}
  const named = new Set(Object.keys(input))
  return Object.fromEntries(Object.entries(parsed).filter(([key]) => named.has(key))) as TenantDefaults
}

/**
 * A tenant policy input with the configured defaults under it: the tenant's own
 * fields win.
 *
 * @example
 * withTenantDefaults({ mayQueue: true }, { id: 'acme' }) // { mayQueue: true, id: 'acme' }
 */
export function withTenantDefaults<T extends { id: string }>(
  defaults: TenantDefaults | undefined,
  policy: T,
): TenantDefaults & T {
  return { ...defaults, ...policy }
}
