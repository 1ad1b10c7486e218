import { Hono } from 'hono'
import { circuitOpenForAll, freeSlots, isInRotation } from '../../backends/backend-record.ts'
import type { GatewayConfig } from '../../config/gateway-config.ts'
import type { Routing } from '../../router/routing.ts'
import { tenantMayUseModel } from '../../tenants/tenant-policy.ts'
import type { AppEnv } from '../app-deps.ts'

/** `GET /v1/models`: the OpenAI list, each model with its tiers and live availability. */
export function modelRoutes(config: GatewayConfig, routing: Routing, clock: () => number) {
  return new Hono<AppEnv>().get('/v1/models', async (c) => {
    const tenant = c.get('tenant')
    const now = clock()
    const staleBefore = now - config.heartbeatStaleSeconds * 1000
    const backends = await routing.view.backends(now)
    const data = config.models
      .filter((model) => tenantMayUseModel(tenant, model.id))
      .map((model) => ({
        id: model.id,
        object: 'model',
        created: 0,
        owned_by: 'spillway',
        tiers: model.tiers.map((tier) => {
          const serving = backends.filter(
            (b) =>
              tier.hardware.includes(b.hardware) &&
              b.models.includes(tier.model) &&
              isInRotation(b, staleBefore) &&
              !circuitOpenForAll(b, now),
          )
          return {
            hardware: tier.hardware,
            model: tier.model,
            degraded: tier.degraded,
            available: tier.degraded ? tenant.mayDegrade : true,
            backends: serving.length,
            slots: serving.reduce((sum, b) => sum + b.maxConcurrency, 0),
            free_slots: serving.reduce((sum, b) => sum + freeSlots(b, now), 0),
          }
        }),
      }))
    return c.json({ object: 'list', data })
  })
}
