import { generateApiKey, hashApiKey, KEY_PREFIX, keyHint } from './api-keys.ts'
import { type TenantPolicy, type TenantPolicyInput, TenantPolicySchema } from './tenant-policy.ts'
import type { ApiKeyRecord, TenantStore } from './tenant-store.ts'

/**
 * Issuing and revoking API keys, for the admin API (`/admin/keys`) and the
 * `spillway keys` CLI alike. A key is shown once, when it is made; afterwards it
 * is known by its hint (`sk-spw-AbCd…`) and its id, a prefix of its SHA-256 that
 * is useless for authenticating.
 */
export const KEY_ID_LENGTH = 12

export const keyId = (record: Pick<ApiKeyRecord, 'keyHash'>) => record.keyHash.slice(0, KEY_ID_LENGTH)

/** A key as listings show it: never the key, never the whole hash. */
export function describeKey(record: ApiKeyRecord) {
  return {
    id: keyId(record),
    hint: record.hint,
    tenant: record.tenantId,
    createdAt: new Date(record.createdAt).toISOString(),
    revokedAt: record.revokedAt === undefined ? null : new Date(record.revokedAt).toISOString(),
  }
}

export type KeyView = ReturnType<typeof describeKey>

export type PolicyChanges = Partial<Omit<TenantPolicyInput, 'id'>>

export type CreateKeyResult =
  | { ok: true; key: string; record: ApiKeyRecord; tenant: TenantPolicy; createdTenant: boolean }
  | { ok: false; problems: string[] }

/** Creates the tenant, or updates the options given, then a new key for it. */
export async function createTenantKey(options: {
  tenants: TenantStore
  tenantId: string
  changes: PolicyChanges
  /** A new tenant starts from these (the config file's `tenantDefaults`); an existing one keeps its policy. */
  defaults?: PolicyChanges
  now: number
}): Promise<CreateKeyResult> {
  const existing = await options.tenants.getTenant(options.tenantId)
  const given = Object.fromEntries(Object.entries(options.changes).filter(([, v]) => v !== undefined))
  const parsed = TenantPolicySchema.safeParse({
    ...(existing ?? options.defaults),
    ...given,
    id: options.tenantId,
  })
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((i) => `${i.path.join('.') || 'tenant'}: ${i.message}`),
    }
  }
  const key = generateApiKey()
  const record: ApiKeyRecord = {
    keyHash: hashApiKey(key),
    tenantId: parsed.data.id,
    hint: keyHint(key),
    createdAt: options.now,
  }
  await options.tenants.putTenant(parsed.data)
  await options.tenants.putKey(record)
  return { ok: true, key, record, tenant: parsed.data, createdTenant: existing === undefined }
}

export type RevokeKeyResult =
  | { ok: true; record: ApiKeyRecord; alreadyRevoked: boolean }
  | { ok: false; reason: 'not-found' }
  | { ok: false; reason: 'ambiguous'; matches: ApiKeyRecord[] }

/** Revokes the one key that `target` names: the key itself, its id (≥ 8 hex digits) or its hint. */
export async function revokeTenantKey(options: {
  tenants: TenantStore
  target: string
  now: number
}): Promise<RevokeKeyResult> {
  const matches = (await options.tenants.listKeys()).filter(keyMatcher(options.target))
  const [record] = matches
  if (!record) return { ok: false, reason: 'not-found' }
  if (matches.length > 1) return { ok: false, reason: 'ambiguous', matches }
  if (record.revokedAt !== undefined) return { ok: true, record, alreadyRevoked: true }
  await options.tenants.revokeKey(record.keyHash, options.now)
  return { ok: true, record: { ...record, revokedAt: options.now }, alreadyRevoked: false }
}

function keyMatcher(target: string): (key: ApiKeyRecord) => boolean {
  const wanted = target.trim().replace(/(…|\.\.\.)$/, '')
  if (wanted.startsWith(KEY_PREFIX) && wanted.length > keyHint(wanted).length - 1) {
    const hash = hashApiKey(wanted)
    return (key) => key.keyHash === hash
  }
  if (/^[0-9a-f]{8,64}$/i.test(wanted)) return (key) => key.keyHash.startsWith(wanted.toLowerCase())
  return (key) => key.hint.replace(/…$/, '') === wanted
}
