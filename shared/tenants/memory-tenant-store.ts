import type { TenantPolicy } from './tenant-policy.ts'
import type { ApiKeyRecord, RateLimitResult, TenantStore } from './tenant-store.ts'

/** Same behaviour as the DynamoDB adapter, in one process's memory (unit tests, benchmarks). */
export class MemoryTenantStore implements TenantStore {
  readonly #tenants = new Map<string, TenantPolicy>()
  readonly #keys = new Map<string, ApiKeyRecord>()
  readonly #counters = new Map<string, number>()

  async putTenant(policy: TenantPolicy): Promise<void> {
    this.#tenants.set(policy.id, policy)
  }
  async getTenant(tenantId: string): Promise<TenantPolicy | undefined> {
    return this.#tenants.get(tenantId)
  }
  async listTenants(): Promise<TenantPolicy[]> {
    return [...this.#tenants.values()]
  }
  async putKey(record: ApiKeyRecord): Promise<void> {
    this.#keys.set(record.keyHash, record)
  }
  async getKey(keyHash: string): Promise<ApiKeyRecord | undefined> {
    return this.#keys.get(keyHash)
  }
  async listKeys(): Promise<ApiKeyRecord[]> {
    return [...this.#keys.values()]
  }
  async revokeKey(keyHash: string, now: number): Promise<boolean> {
    const record = this.#keys.get(keyHash)
    if (!record) return false
    this.#keys.set(keyHash, { ...record, revokedAt: now })
    return true
  }
  async consumeRate(options: {
    tenantId: string
    limitPerMinute: number
    now: number
  }): Promise<RateLimitResult> {
    const minute = Math.floor(options.now / 60_000)
    const key = `${options.tenantId}#${minute}`
    const count = this.#counters.get(key) ?? 0
    if (count >= options.limitPerMinute) {
      return {
        ok: false,
        retryAfterSeconds: Math.max(1, Math.ceil(((minute + 1) * 60_000 - options.now) / 1000)),
      }
    }
    this.#counters.set(key, count + 1)
    return { ok: true }
  }
}
