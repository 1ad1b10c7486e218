import { Hono } from 'hono'
import { API_PATHS, type ApiKind } from '../../backends/backend-apis.ts'
import { modelApis } from '../../config/model-apis.ts'
import { BadRequestError, NotFoundError, PermissionDeniedError, RateLimitedError } from '../../errors.ts'
import { loggedCapacitySignal } from '../../gateway/capacity-signal.ts'
import { CompletionService } from '../../gateway/serve-completion.ts'
import { checkWebhookUrl, type WebhookTargetPolicy } from '../../jobs/webhook-url.ts'
import type { AppLogger } from '../../logging.ts'
import type { Routing } from '../../router/routing.ts'
import { tenantMayUseModel } from '../../tenants/tenant-policy.ts'
import type * as z from '../../validation/zod-mini.ts'
import type { AppDeps, AppEnv } from '../app-deps.ts'
import { applySchedulingPolicy } from '../chat-request.ts'
import { parseDeadlineHeader } from '../deadline-header.ts'
import { parseJsonBody } from '../parse-json-body.ts'
import { parsePrefer } from '../prefer.ts'
import { chatCompletionsEndpoint } from './chat-completions.ts'
import { completionsEndpoint } from './completions.ts'
import { embeddingsEndpoint } from './embeddings.ts'
import { responsesEndpoint } from './responses.ts'

/** One inference API as a route: its request schema; path, backends and answers follow from `api`. */
export interface InferenceEndpoint {
  readonly api: ApiKind
  readonly schema: z.ZodMiniType<{ model: string; stream?: boolean | undefined } & Record<string, unknown>>
}

export const INFERENCE_ENDPOINTS: readonly InferenceEndpoint[] = [
  chatCompletionsEndpoint,
  completionsEndpoint,
  embeddingsEndpoint,
  responsesEndpoint,
]

/** What a Lambda invocation passes as the app's env (`functionUrlStreamHandler`). */
type LambdaBindings = { context?: { getRemainingTimeInMillis?: () => number } } | undefined

const API_NAMES: Readonly<Record<ApiKind, string>> = {
  chat: 'chat completions',
  completions: 'completions',
  embeddings: 'embeddings',
  responses: 'responses',
}

/**
 * `POST /v1/chat/completions`, `/v1/completions`, `/v1/embeddings` and
 * `/v1/responses`, one adapter for all: parse and check the request, apply the
 * key's rate limit, then hand the decision (serve, fall back, hold, spill) to
 * one `CompletionService`, so every API has the same admission, tiers,
 * idempotency, deadlines and headers, and shares this process's slot lines.
 */
export function inferenceRoutes(deps: AppDeps, routing: Routing, log: AppLogger, clock: () => number) {
  const models = new Map(deps.config.models.map((m) => [m.id, m]))
  const service = new CompletionService({
    config: deps.config,
    routing,
    backendClient: deps.backendClient,
    overflow: deps.overflow,
    jobs: deps.jobs,
    capacitySignal: deps.capacitySignal ?? loggedCapacitySignal(log),
    onJobEnded: (status) => deps.observability?.recordJobOutcome(status),
    hold: deps.hold,
    maxHoldSeconds: deps.maxHoldSeconds,
    ...(deps.holds ? { holds: deps.holds } : {}),
    clock,
    log,
  })

  const app = new Hono<AppEnv>()
  for (const endpoint of INFERENCE_ENDPOINTS) {
    const { api } = endpoint
    app.post(API_PATHS[api], async (c) => {
      const tenant = c.get('tenant')
      const request = applySchedulingPolicy(parseJsonBody(endpoint.schema, await c.req.text()), tenant)
      const model = models.get(request.model)
      if (!model)
        throw new NotFoundError(`The model "${request.model}" does not exist.`, {
          code: 'model_not_found',
          param: 'model',
        })
      c.set('model', model.id)
      if (!tenantMayUseModel(tenant, model.id)) {
        throw new PermissionDeniedError(`This key may not use the model "${model.id}".`, { param: 'model' })
      }
      const served = modelApis(model)
      if (!served.includes(api)) {
        throw new BadRequestError(
          `The model "${model.id}" is an ${model.kind} model and does not serve ${API_NAMES[api]}; ` +
            `it serves: ${served.map((a) => API_PATHS[a]).join(', ')}.`,
          { code: 'model_not_supported', param: 'model' },
        )
      }
      const now = clock()
      const deadlineAt = parseDeadlineHeader(
        c.req.header('x-spillway-deadline'),
        now,
        tenant.jobDeadlineSeconds,
      )
      const webhookUrl = parseWebhookUrl(c.req.header('x-spillway-webhook'), deps.webhookPolicy)

      if (tenant.rateLimitPerMinute !== undefined) {
        const rate = await deps.tenants.consumeRate({
          tenantId: tenant.id,
          limitPerMinute: tenant.rateLimitPerMinute,
          now,
        })
        if (!rate.ok) {
          throw new RateLimitedError('Rate limit reached for this key.', {
            retryAfterSeconds: rate.retryAfterSeconds,
            code: 'rate_limit_exceeded',
          })
        }
      }

      const idempotencyKey = c.req.header('idempotency-key')
      const remainingMs = (c.env as LambdaBindings)?.context?.getRemainingTimeInMillis?.()
      return service.serve({
        api,
        tenant,
        model,
        body: request,
        stream: request.stream === true,
        prefer: parsePrefer(c.req.header('prefer')),
        deadlineAt,
        requestId: c.get('requestId'),
        signal: c.req.raw.signal,
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
        ...(webhookUrl ? { webhookUrl } : {}),
        ...(remainingMs === undefined ? {} : { remainingMs }),
      })
    })
  }
  return app
}

/**
 * `x-spillway-webhook`: where a queued job's outcome is posted, from inside the
 * deployment; the webhook rule (`webhook-url.ts`) checks it here and again, resolved, at delivery.
 */
function parseWebhookUrl(header: string | undefined, policy?: WebhookTargetPolicy): string | undefined {
  if (header === undefined) return undefined
  const checked = checkWebhookUrl(header.trim(), policy)
  if (!checked.ok) {
    throw new BadRequestError(`x-spillway-webhook refused: ${checked.reason}.`, {
      param: 'x-spillway-webhook',
    })
  }
  return checked.url
}
