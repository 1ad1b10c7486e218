import { Hono } from 'hono'
import {
  BadRequestError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitedError,
  ServiceUnavailableError,
  UnprocessableError,
} from '../../errors.ts'
import { jsonBytes, MAX_QUEUED_REQUEST_BYTES } from '../../jobs/job-size.ts'
import { checkWebhookUrl, type WebhookTargetPolicy } from '../../jobs/webhook-url.ts'
import type { AppLogger } from '../../logging.ts'
import { forwardCompletion } from '../../proxy/forward-completion.ts'
import type { Routing } from '../../router/routing.ts'
import { tenantMayUseModel } from '../../tenants/tenant-policy.ts'
import type { AppDeps, AppEnv } from '../app-deps.ts'
import { ChatCompletionRequestSchema } from '../chat-request.ts'
import { parseJsonBody } from '../parse-json-body.ts'
import { parsePrefer } from '../prefer.ts'
import { routeHeaders } from '../route-headers.ts'

export function chatCompletionRoutes(deps: AppDeps, routing: Routing, log: AppLogger, clock: () => number) {
  const models = new Map(deps.config.models.map((m) => [m.id, m]))
  const upstream = deps.config.upstream

  return new Hono<AppEnv>().post('/v1/chat/completions', async (c) => {
    const request = parseJsonBody(ChatCompletionRequestSchema, await c.req.text())
    const tenant = c.get('tenant')
    const model = models.get(request.model)
    if (!model)
      throw new NotFoundError(`The model "${request.model}" does not exist.`, {
        code: 'model_not_found',
        param: 'model',
      })
    if (!tenantMayUseModel(tenant, model.id)) {
      throw new PermissionDeniedError(`This key may not use the model "${model.id}".`, { param: 'model' })
    }
    const now = clock()
    const deadlineAt = parseDeadline(c.req.header('x-spillway-deadline'), now, tenant.jobDeadlineSeconds)
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

    const stream = request.stream === true
    const result = await forwardCompletion({
      router: routing.router,
      circuits: routing.circuits,
      client: deps.backendClient,
      clock,
      log,
      model,
      mayDegrade: tenant.mayDegrade,
      body: request,
      stream,
      signal: c.req.raw.signal,
      firstByteTimeoutMs: upstream.firstByteTimeoutMs,
      idleTimeoutMs: upstream.idleTimeoutMs,
      maxAttempts: upstream.maxAttempts,
    })
    if (result.kind === 'served') {
      const headers = new Headers(result.response.headers)
      for (const [name, value] of Object.entries(routeHeaders(result.served))) headers.set(name, value)
      return new Response(result.response.body, { status: result.response.status, headers })
    }
    if (result.kind === 'no-backend') {
      throw new ServiceUnavailableError(`No healthy backend serves "${model.id}" right now.`, {
        headers: { 'retry-after': '5', 'x-should-retry': 'false' },
      })
    }
    const prefer = parsePrefer(c.req.header('prefer'))
    if (tenant.mayQueue && deps.overflow) {
      const bytes = jsonBytes(request)
      if (bytes > MAX_QUEUED_REQUEST_BYTES) {
        // Capacity, not the request, is the problem: the same request succeeds once a slot frees.
        throw new RateLimitedError(
          `All backends for "${model.id}" are busy, and this request (${Math.ceil(bytes / 1024)} KB) is larger ` +
            `than a queued job can hold (${MAX_QUEUED_REQUEST_BYTES / 1024} KB); retry later.`,
          { retryAfterSeconds: result.retryAfterSeconds, code: 'capacity_exhausted' },
        )
      }
      const idempotencyKey = c.req.header('idempotency-key')
      return deps.overflow.spill({
        tenant,
        model,
        body: request,
        stream,
        prefer,
        ...(idempotencyKey ? { idempotencyKey } : {}),
        ...(webhookUrl ? { webhookUrl } : {}),
        deadlineAt,
        requestId: c.get('requestId'),
        signal: c.req.raw.signal,
      })
    }
    throw new RateLimitedError(`All backends for "${model.id}" are busy; retry later.`, {
      retryAfterSeconds: result.retryAfterSeconds,
      code: 'capacity_exhausted',
    })
  })
}

/** `x-spillway-deadline`: seconds from now, or an RFC 3339 time. */
function parseDeadline(header: string | undefined, now: number, defaultSeconds: number): number {
  if (header === undefined) return now + defaultSeconds * 1000
  const trimmed = header.trim()
  const at = /^\d+(\.\d+)?$/.test(trimmed) ? now + Number(trimmed) * 1000 : Date.parse(trimmed)
  if (!Number.isFinite(at)) {
    throw new BadRequestError('x-spillway-deadline must be seconds or an RFC 3339 time.', {
      param: 'x-spillway-deadline',
    })
  }
  if (at <= now)
    throw new UnprocessableError('x-spillway-deadline is already past.', { param: 'x-spillway-deadline' })
  return at
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
