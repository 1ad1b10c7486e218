import { hashApiKey, keyHint } from '../shared/tenants/api-keys.ts'
import { type TenantPolicyInput, TenantPolicySchema } from '../shared/tenants/tenant-policy.ts'
import type { TenantStore } from '../shared/tenants/tenant-store.ts'

/** Creates (or updates) a tenant and one known key for it: the local stack's dev key, test tenants. */
export async function seedTenantKey(options: {
  tenants: TenantStore
  policy: TenantPolicyInput
  key: string
  now: number
}): Promise<void> {
  const policy = TenantPolicySchema.parse(options.policy)
  await options.tenants.putTenant(policy)
  await options.tenants.putKey({
    keyHash: hashApiKey(options.key),
    tenantId: policy.id,
    hint: keyHint(options.key),
    createdAt: options.now,
  })
}
