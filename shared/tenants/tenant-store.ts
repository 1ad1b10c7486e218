import type { TenantPolicy } from './tenant-policy.ts'

export interface ApiKeyRecord {
  readonly keyHash: string
  readonly tenantId: string
  /** Non-secret hint (`sk-spw-AbCd…`) for listings. */
  readonly hint: string
  readonly createdAt: number
  readonly revokedAt?: number
}

export type RateLimitResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly retryAfterSeconds: number }

/** Keys, tenant policies and rate-limit counters. */
export interface TenantStore {
  putTenant(policy: TenantPolicy): Promise<void>
  getTenant(tenantId: string): Promise<TenantPolicy | undefined>
  listTenants(): Promise<TenantPolicy[]>
  putKey(record: ApiKeyRecord): Promise<void>
  getKey(keyHash: string): Promise<ApiKeyRecord | undefined>
  listKeys(): Promise<ApiKeyRecord[]>
  /** Marks the key revoked; false when no such key. */
  revokeKey(keyHash: string, now: number): Promise<boolean>
  /** Counts one request in the tenant's current minute; refuses once the limit is reached. */
  consumeRate(options: { tenantId: string; limitPerMinute: number; now: number }): Promise<RateLimitResult>
}
