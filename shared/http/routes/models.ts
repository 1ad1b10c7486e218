import { Hono } from 'hono'
import type { BackendRecord } from '../../backends/backend-record.ts'
import { freeSlots } from '../../backends/backend-record.ts'
import type { GatewayConfig, ModelConfig } from '../../config/gateway-config.ts'
import { modelApis } from '../../config/model-apis.ts'
import { NotFoundError } from '../../errors.ts'
import { type EligibilityInstant, tierEligibility } from '../../router/eligibility.ts'
import type { Routing } from '../../router/routing.ts'
import { type TenantPolicy, tenantMayUseModel } from '../../tenants/tenant-policy.ts'
import type { AppEnv } from '../app-deps.ts'

/**
 * `GET /v1/models`: the OpenAI list, each model with its tiers and live
 * availability (its kind, the APIs it answers and, per tier, the APIs its
 * backends in rotation serve now); `GET /v1/models/{id}`: one of them (what the SDKs'
 * `models.retrieve(id)` calls), 404 `model_not_found` for a model no
 * configuration serves or the tenant may not use (the same answer, so a
 * tenant cannot probe which models exist).
 */
export function modelRoutes(config: GatewayConfig, routing: Routing, clock: () => number) {
  const describe = async (models: readonly ModelConfig[], tenant: TenantPolicy) => {
    const now = clock()
    const at = { now, staleBefore: now - config.heartbeatStaleSeconds * 1000 }
    const backends = await routing.view.backends(now)
    return models.map((model) => describeModel({ model, tenant, backends, at }))
  }

  return (
    new Hono<AppEnv>()
      .get('/v1/models', async (c) => {
        const tenant = c.get('tenant')
        const data = await describe(
          config.models.filter((model) => tenantMayUseModel(tenant, model.id)),
          tenant,
        )
        return c.json({ object: 'list', data })
      })
      // `{.+}`: model ids such as `meta-llama/Llama-3.1-8B-Instruct` hold slashes, sent raw or as %2F.
      .get('/v1/models/:id{.+}', async (c) => {
        const tenant = c.get('tenant')
        const id = c.req.param('id')
        const model = config.models.find((m) => m.id === id)
        if (!model || !tenantMayUseModel(tenant, model.id)) {
          throw new NotFoundError(`The model '${id.slice(0, 256)}' does not exist.`, {
            code: 'model_not_found',
            param: 'model',
          })
        }
        const [described] = await describe([model], tenant)
        return c.json(described)
      })
  )
}

function describeModel(options: {
  model: ModelConfig
  tenant: TenantPolicy
  backends: readonly BackendRecord[]
  at: EligibilityInstant
}) {
  const { model, tenant, backends, at } = options
  return {
    id: model.id,
    object: 'model',
    created: 0,
    owned_by: 'spillway',
    kind: model.kind,
    apis: modelApis(model),
    tiers: model.tiers.map((tier) => {
      // Per API, the backends the router would draw from for a request of it now;
      // a backend counts once if it is a candidate for any of the model's APIs.
      const servingByApi = modelApis(model).map(
        (api) => [api, backends.filter((b) => tierEligibility({ ...tier, api }, b, at).eligible)] as const,
      )
      const serving = [...new Set(servingByApi.flatMap(([, eligible]) => eligible))]
      return {
        hardware: tier.hardware,
        model: tier.model,
        degraded: tier.degraded,
        apis: servingByApi.filter(([, eligible]) => eligible.length > 0).map(([api]) => api),
        available: tier.degraded ? tenant.mayDegrade : true,
        backends: serving.length,
        slots: serving.reduce((sum, b) => sum + b.maxConcurrency, 0),
        free_slots: serving.reduce((sum, b) => sum + freeSlots(b, at.now), 0),
      }
    }),
  }
}
