import { Hono } from 'hono'
import { BadRequestError, NotFoundError, SpillwayError } from '../../errors.ts'
import { createTenantKey, describeKey, revokeTenantKey } from '../../tenants/tenant-keys.ts'
import { TenantPolicySchema } from '../../tenants/tenant-policy.ts'
import type { TenantStore } from '../../tenants/tenant-store.ts'
import * as z from '../../validation/zod-mini.ts'
import type { AppEnv } from '../app-deps.ts'
import { keyAuth } from '../middleware/tenant-auth.ts'
import { parseJsonBody } from '../parse-json-body.ts'

const policy = TenantPolicySchema.shape

/** `POST /admin/keys`: the tenant (created, or updated with the fields given) and a new key's options. */
export const KeyCreation = z.strictObject({
  tenant: policy.id,
  models: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(256))).check(z.minLength(1))),
  mayDegrade: z.optional(z.boolean()),
  mayQueue: z.optional(z.boolean()),
  priority: z.optional(z.enum(['interactive', 'batch'])),
  defaultWaitSeconds: z.optional(z.int().check(z.gte(0), z.lte(900))),
  jobDeadlineSeconds: z.optional(z.int().check(z.gte(1), z.lte(14 * 24 * 3600))),
  rateLimitPerMinute: z.optional(z.int().check(z.gte(1))),
  maxConcurrentHolds: policy.maxConcurrentHolds,
})

/** Key ids are hash prefixes; anything else cannot name a key. */
const KEY_ID = /^[0-9a-f]{8,64}$/

/**
 * API keys over the admin API (admin key only): create (the key is in this one
 * answer, never again), list (hints and ids), revoke by id. Gateways cache key
 * lookups, so a revoked key stops working within their key cache time.
 */
export function adminKeyRoutes(options: {
  tenants: TenantStore
  clock: () => number
  adminKeyHash: string
  keyCacheMs: number
}) {
  const { tenants, clock } = options
  const adminOnly = keyAuth({ acceptedHashes: [options.adminKeyHash] })
  return new Hono<AppEnv>()
    .post('/admin/keys', adminOnly, async (c) => {
      const { tenant, ...changes } = parseJsonBody(KeyCreation, await c.req.text())
      const created = await createTenantKey({ tenants, tenantId: tenant, changes, now: clock() })
      if (!created.ok) throw new BadRequestError(`Invalid tenant policy: ${created.problems.join('; ')}.`)
      return c.json({ key: created.key, ...describeKey(created.record), policy: created.tenant }, 201)
    })
    .get('/admin/keys', adminOnly, async (c) => {
      const [policies, keys] = await Promise.all([tenants.listTenants(), tenants.listKeys()])
      return c.json({
        tenants: policies.sort((a, b) => a.id.localeCompare(b.id)),
        data: keys.sort((a, b) => a.createdAt - b.createdAt).map(describeKey),
      })
    })
    .delete('/admin/keys/:id', adminOnly, async (c) => {
      const id = c.req.param('id')
      if (!KEY_ID.test(id)) throw new NotFoundError('No such key.', { code: 'key_not_found' })
      const revoked = await revokeTenantKey({ tenants, target: id, now: clock() })
      if (!revoked.ok && revoked.reason === 'not-found')
        throw new NotFoundError('No such key.', { code: 'key_not_found' })
      if (!revoked.ok)
        throw new SpillwayError(
          409,
          'invalid_request_error',
          'That id names more than one key; give more of it.',
          {
            code: 'key_id_ambiguous',
          },
        )
      return c.json({
        ...describeKey(revoked.record),
        stopsWorkingWithinSeconds: Math.ceil(options.keyCacheMs / 1000),
      })
    })
}
