import type { ApiKind } from '../backends/backend-apis.ts'
import type { BackendClient } from '../backends/backend-client.ts'
import type { GatewayConfig, ModelConfig } from '../config/gateway-config.ts'
import { RateLimitedError, ServiceUnavailableError, SpillwayError } from '../errors.ts'
import { MemoryTenantHoldStore } from '../holds/memory-tenant-hold-store.ts'
import { releaseWhenBodyEnds, TenantHold } from '../holds/tenant-hold.ts'
import type { TenantHoldStore } from '../holds/tenant-hold-store.ts'
import type { Preferences } from '../http/prefer.ts'
import { routeHeaders } from '../http/route-headers.ts'
import { isTerminal, type JobRecord, newJobId } from '../jobs/job-record.ts'
import { acceptedResponse } from '../jobs/job-responses.ts'
import { jsonBytes, MAX_QUEUED_REQUEST_BYTES } from '../jobs/job-size.ts'
import type { JobStore } from '../jobs/job-store.ts'
import type { OverflowPort } from '../jobs/overflow-port.ts'
import { waitForJob } from '../jobs/wait-for-job.ts'
import type { AppLogger } from '../logging.ts'
import { answerAsSse, wantsUsage } from '../proxy/answer-as-sse.ts'
import { forwardCompletion } from '../proxy/forward-completion.ts'
import type { Routing } from '../router/routing.ts'
import { SlotGate } from '../router/slot-gate.ts'
import type { TenantPolicy } from '../tenants/tenant-policy.ts'
import { type CapacitySignal, CapacityWants } from './capacity-signal.ts'
import { answerFromJob, heldJsonResponse, heldStreamResponse } from './held-responses.ts'
import { DEFAULT_HOLD_SETTINGS, type HoldContext, type HoldSettings } from './hold-settings.ts'
import { awaitKey, checkIdempotencyKey, type KeyState, reserveKey } from './idempotency.ts'
import { keepIdempotentAnswer } from './idempotent-answer.ts'

/** One validated request of any inference API, as the route hands it over. */
export interface CompletionRequest {
  /** Which API (chat, completions, embeddings, responses): backends, route and answer shape follow it. */
  readonly api: ApiKind
  readonly tenant: TenantPolicy
  readonly model: ModelConfig
  readonly body: Record<string, unknown>
  readonly stream: boolean
  readonly prefer: Preferences
  readonly idempotencyKey?: string
  readonly webhookUrl?: string
  /** Epoch ms after which a queued job expires instead of running. */
  readonly deadlineAt: number
  readonly requestId: string
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal
  /** What the runtime has left for this request (a Lambda invocation's remaining time). */
  readonly remainingMs?: number
}

export interface CompletionServiceOptions {
  readonly config: GatewayConfig
  readonly routing: Routing
  readonly backendClient: BackendClient
  readonly overflow?: OverflowPort
  /** Jobs API store; the idempotency records live there when there is no overflow path. */
  readonly jobs?: JobStore
  readonly capacitySignal: CapacitySignal
  /** A job this gateway ran itself ended: counted with the worker's job outcomes. */
  readonly onJobEnded?: (status: string) => void
  readonly hold?: Partial<HoldSettings>
  /** The runtime's ceiling on any hold, in seconds. */
  readonly maxHoldSeconds?: number
  /** Each tenant's concurrent holds (`maxConcurrentHolds`), shared by every gateway instance. */
  readonly holds?: TenantHoldStore
  readonly clock: () => number
  readonly log: AppLogger
}

/** Room left at the end of a Lambda invocation to answer a hold that runs out. */
const RUNTIME_MARGIN_MS = 10_000

/**
 * The serve / fall back / hold / spill decision, whatever the transport:
 * a free slot serves the request at once (GPU tiers, then the CPU variant when
 * the tenant may degrade); with none, a tenant that may queue gets a durable
 * job: `Prefer: respond-async` answers 202, anything else is *held* and
 * answered inline (RFC 7240), including while the model has no healthy
 * backend at all ("capacity wanted"). A tenant that may not queue gets 429
 * (busy) or 503 (nothing healthy). `Idempotency-Key` is honoured on every path.
 *
 * @example
 * const service = new CompletionService({ config, routing, backendClient, overflow, capacitySignal, clock, log })
 * const res = await service.serve({ tenant, model, body, stream: false, prefer, deadlineAt, requestId, signal })
 */
export class CompletionService {
  readonly #o: CompletionServiceOptions
  readonly #hold: HoldContext | undefined
  readonly #holds: TenantHoldStore
  readonly #settings: HoldSettings

  constructor(options: CompletionServiceOptions) {
    this.#o = options
    this.#settings = { ...DEFAULT_HOLD_SETTINGS, ...options.hold }
    this.#holds = options.holds ?? new MemoryTenantHoldStore()
    const { routing, clock } = options
    this.#hold = options.overflow && {
      overflow: options.overflow,
      slots: new SlotGate({
        router: routing.router,
        clock,
        pollMs: { interactive: 50, batch: 200 },
        refreshMs: 250,
        signals: {
          subscribe: (listener) => routing.view.subscribe(listener),
          refresh: () => routing.view.refresh(clock()),
        },
      }),
      circuits: routing.circuits,
      backendClient: options.backendClient,
      wants: new CapacityWants(options.capacitySignal),
      onJobEnded: options.onJobEnded,
      clock,
      log: options.log,
      settings: this.#settings,
      firstByteTimeoutMs: options.config.upstream.firstByteTimeoutMs,
      idleTimeoutMs: options.config.upstream.idleTimeoutMs,
      totalTimeoutMs: options.config.upstream.totalTimeoutMs,
      maxResponseBytes: options.config.upstream.maxResponseBytes,
    }
  }

  async serve(r: CompletionRequest): Promise<Response> {
    const { clock } = this.#o
    const now = clock()
    const holdUntil = this.#holdUntil(r, now)
    const jobs = this.#o.overflow?.jobs ?? this.#o.jobs
    let jobId = newJobId()
    let key: { jobs: JobStore; key: string } | undefined
    if (r.idempotencyKey !== undefined && jobs) {
      const base = {
        jobs,
        tenantId: r.tenant.id,
        key: checkIdempotencyKey(r.idempotencyKey),
        jobId,
        // The API is part of "the same request": a key reused on another endpoint is refused.
        request: {
          model: r.model.id,
          body: r.body,
          webhookUrl: r.webhookUrl,
          ...(r.api === 'chat' ? {} : { api: r.api }),
        },
        now,
        ttlSeconds: this.#o.overflow?.idempotencyTtlSeconds ?? 24 * 3600,
      }
      let state: KeyState | undefined = await reserveKey(base)
      if (state.kind === 'in-flight')
        state = await awaitKey({ ...base, until: holdUntil, clock, signal: r.signal })
      if (!state || state.kind === 'in-flight') {
        throw new SpillwayError(
          409,
          'invalid_request_error',
          'A request with this Idempotency-Key is still running.',
          {
            code: 'idempotency_key_in_progress',
            param: 'Idempotency-Key',
            headers: { 'retry-after': '1', 'x-should-retry': 'true' },
          },
        )
      }
      if (state.kind === 'stored') return replayStored(r, state.result, state.servedBy)
      if (state.kind === 'job') {
        const job = await jobs.get(state.jobId)
        const place = job && !isTerminal(job.status) ? await this.#enterHold(r, 1) : undefined
        if (job) return await this.#answer(r, job, { holdUntil, keyed: true, retryAfterSeconds: 1, place })
      } else {
        jobId = state.jobId
      }
      key = { jobs, key: base.key }
    }

    let queued = false
    try {
      // Held requests of this process already wait for this model: a newcomer that may queue
      // lines up behind them instead of taking the next freed slot first.
      const lineFormed =
        r.tenant.mayQueue &&
        this.#hold?.slots.hasWaiters({ model: r.model, mayDegrade: r.tenant.mayDegrade, api: r.api })
      const result: Awaited<ReturnType<typeof forwardCompletion>> = lineFormed
        ? { kind: 'saturated', retryAfterSeconds: 1 }
        : await forwardCompletion({
            router: this.#o.routing.router,
            circuits: this.#o.routing.circuits,
            client: this.#o.backendClient,
            clock,
            log: this.#o.log,
            model: r.model,
            mayDegrade: r.tenant.mayDegrade,
            api: r.api,
            body: r.body,
            stream: r.stream,
            signal: r.signal,
            firstByteTimeoutMs: this.#o.config.upstream.firstByteTimeoutMs,
            idleTimeoutMs: this.#o.config.upstream.idleTimeoutMs,
            maxAttempts: this.#o.config.upstream.maxAttempts,
            totalTimeoutMs: this.#o.config.upstream.totalTimeoutMs,
            maxResponseBytes: this.#o.config.upstream.maxResponseBytes,
          })
      if (result.kind === 'served') {
        const headers = new Headers(result.response.headers)
        for (const [name, value] of Object.entries(routeHeaders(result.served))) headers.set(name, value)
        const response = new Response(result.response.body, { status: result.response.status, headers })
        if (!key) return response
        queued = true // the key is the answer's from here on
        return await keepIdempotentAnswer({
          jobs: key.jobs,
          tenantId: r.tenant.id,
          key: key.key,
          jobId,
          api: r.api,
          stream: r.stream,
          response,
          served: result.served,
          log: this.#o.log,
        })
      }
      const retryAfterSeconds = result.kind === 'saturated' ? result.retryAfterSeconds : 5
      if (r.tenant.mayQueue && this.#hold) {
        const bytes = jsonBytes(r.body)
        if (bytes > MAX_QUEUED_REQUEST_BYTES) {
          // Capacity, not the request, is the problem: the same request succeeds once a slot frees.
          throw new RateLimitedError(
            `All backends for "${r.model.id}" are busy, and this request (${Math.ceil(bytes / 1024)} KB) is larger ` +
              `than a queued job can hold (${MAX_QUEUED_REQUEST_BYTES / 1024} KB); retry later.`,
            { retryAfterSeconds, code: 'capacity_exhausted' },
          )
        }
        if (result.kind === 'no-backend' && r.prefer.respondAsync)
          this.#o.capacitySignal.wanted(r.model.id, 1)
        // Before the job exists: a refused request leaves nothing queued behind it.
        const place = await this.#enterHold(r, retryAfterSeconds)
        const job = await this.#hold.overflow
          .submit({
            id: jobId,
            tenant: r.tenant,
            model: r.model,
            api: r.api,
            body: r.body,
            stream: r.stream,
            deadlineAt: r.deadlineAt,
            requestId: r.requestId,
            ...(r.webhookUrl ? { webhookUrl: r.webhookUrl } : {}),
            ...(r.prefer.respondAsync ? {} : { heldUntil: clock() + this.#settings.markerTtlMs }),
          })
          .catch(async (error: unknown) => {
            await place?.release()
            throw error
          })
        queued = true
        return await this.#answer(r, job, { holdUntil, keyed: key !== undefined, retryAfterSeconds, place })
      }
      if (result.kind === 'no-backend') {
        throw new ServiceUnavailableError(`No healthy backend serves "${r.model.id}" right now.`, {
          headers: { 'retry-after': '5', 'x-should-retry': 'false' },
        })
      }
      throw new RateLimitedError(`All backends for "${r.model.id}" are busy; retry later.`, {
        retryAfterSeconds,
        code: 'capacity_exhausted',
      })
    } finally {
      // Nothing ran that a retry must not repeat: free the key for it.
      if (key && !queued) await key.jobs.releaseIdempotencyKey({ tenantId: r.tenant.id, key: key.key, jobId })
    }
  }

  /** A queued (or joined) job's answer: its outcome if it ended, 202 when asked, else the hold. */
  async #answer(
    r: CompletionRequest,
    job: JobRecord,
    o: { holdUntil: number; keyed: boolean; retryAfterSeconds: number; place?: TenantHold | undefined },
  ): Promise<Response> {
    const hold = this.#hold
    const { place } = o
    if (place && (isTerminal(job.status) || !hold || r.prefer.respondAsync)) await place.release()
    if (isTerminal(job.status) || !hold)
      return isTerminal(job.status) ? answerFromJob(job) : acceptedResponse(job, 1)
    if (r.prefer.respondAsync) {
      // `respond-async, wait=N`: up to N seconds for the answer, then 202; never cancelled by a disconnect.
      const settled = r.prefer.waitSeconds
        ? await waitForJob({
            jobs: hold.overflow.jobs,
            job,
            until: Math.min(o.holdUntil, this.#o.clock() + r.prefer.waitSeconds * 1000),
            clock: this.#o.clock,
            signal: r.signal,
          })
        : job
      return isTerminal(settled.status)
        ? answerFromJob(settled)
        : acceptedResponse(settled, hold.overflow.retryAfterSeconds)
    }
    const options = {
      job,
      model: r.model,
      until: Math.min(o.holdUntil, job.deadlineAt),
      signal: r.signal,
      keepJobOnTimeout: o.keyed,
      retryAfterSeconds: o.retryAfterSeconds,
    }
    if (!place) return job.stream ? heldStreamResponse(hold, options) : await heldJsonResponse(hold, options)
    if (job.stream) return releaseWhenBodyEnds(heldStreamResponse(hold, options), () => place.release())
    try {
      return await heldJsonResponse(hold, options)
    } finally {
      await place.release()
    }
  }

  /** A place among the tenant's concurrent holds, or its `429 too_many_holds`; none for `respond-async`. */
  #enterHold(r: CompletionRequest, retryAfterSeconds: number): Promise<TenantHold | undefined> {
    if (r.prefer.respondAsync) return Promise.resolve(undefined)
    return TenantHold.enter({
      store: this.#holds,
      tenant: r.tenant,
      ttlMs: this.#o.config.leaseTtlSeconds * 1000,
      retryAfterSeconds,
      clock: this.#o.clock,
      log: this.#o.log,
    })
  }

  /** The tenant's hold limit, shortened by `Prefer: wait=N`, capped by what the runtime allows. */
  #holdUntil(r: CompletionRequest, now: number): number {
    const seconds = Math.min(
      r.tenant.maxHoldSeconds,
      r.prefer.waitSeconds ?? Number.POSITIVE_INFINITY,
      this.#o.maxHoldSeconds ?? Number.POSITIVE_INFINITY,
    )
    const runtimeMs =
      r.remainingMs === undefined ? Number.POSITIVE_INFINITY : r.remainingMs - RUNTIME_MARGIN_MS
    return now + Math.max(0, Math.min(seconds * 1000, runtimeMs))
  }
}

/** A directly served answer stored on its `Idempotency-Key`, answered again without a backend. */
function replayStored(
  r: CompletionRequest,
  result: Record<string, unknown>,
  servedBy: JobRecord['servedBy'],
): Response {
  const headers: Record<string, string> = {
    ...(servedBy
      ? routeHeaders({ route: servedBy.route, hardware: servedBy.hardware, backendId: servedBy.backendId })
      : {}),
    'x-spillway-idempotent-replay': 'true',
  }
  if (!r.stream) return Response.json(result, { headers })
  return new Response(answerAsSse({ api: r.api, result, includeUsage: wantsUsage(r.body) }), {
    headers: { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
  })
}
