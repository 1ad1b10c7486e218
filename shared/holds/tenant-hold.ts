import { randomUUID } from 'node:crypto'
import { RateLimitedError } from '../errors.ts'
import type { AppLogger } from '../logging.ts'
import type { TenantPolicy } from '../tenants/tenant-policy.ts'
import type { TenantHoldStore } from './tenant-hold-store.ts'

export interface EnterHoldOptions {
  readonly store: TenantHoldStore
  readonly tenant: TenantPolicy
  /** An entry outlives a crashed gateway by at most this; renewed at a third of it. */
  readonly ttlMs: number
  /** `Retry-After` of the refusal: the queue's drain-rate estimate. */
  readonly retryAfterSeconds: number
  readonly clock: () => number
  readonly log: AppLogger
}

/**
 * One held request's place among its tenant's concurrent holds, renewed while it
 * lasts. `release()` is idempotent, so every ending (answer, error, client gone,
 * Lambda timeout) may call it.
 */
export class TenantHold {
  readonly #o: EnterHoldOptions
  readonly #id: string
  #timer: NodeJS.Timeout | undefined
  #released: Promise<void> | undefined

  private constructor(options: EnterHoldOptions, id: string) {
    this.#o = options
    this.#id = id
    this.#timer = setInterval(() => void this.#renew(), Math.max(100, Math.floor(options.ttlMs / 3)))
    // A pending renewal must not keep a finished process (or a Lambda invocation) alive.
    this.#timer.unref()
  }

  /**
   * Takes a place, or throws the `429 too_many_holds` the client gets; `undefined`
   * when the tenant has no limit (nothing is written then).
   */
  static async enter(options: EnterHoldOptions): Promise<TenantHold | undefined> {
    const limit = options.tenant.maxConcurrentHolds
    if (limit === undefined) return undefined
    const id = randomUUID()
    const now = options.clock()
    const entered = await options.store.enter({
      tenantId: options.tenant.id,
      holdId: id,
      limit,
      now,
      expiresAt: now + options.ttlMs,
    })
    if (!entered.ok) {
      throw new RateLimitedError(
        `This key already has ${limit === 0 ? 'no held requests allowed' : `${limit} requests held waiting for capacity, its limit`}; ` +
          'retry later, or send Prefer: respond-async to get a job to poll.',
        { retryAfterSeconds: options.retryAfterSeconds, code: 'too_many_holds' },
      )
    }
    return new TenantHold(options, id)
  }

  release(): Promise<void> {
    this.#released ??= this.#leave()
    return this.#released
  }

  async #leave(): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    try {
      await this.#o.store.leave({ tenantId: this.#o.tenant.id, holdId: this.#id })
    } catch (error) {
      // Not worth failing an answer for: the entry expires within its TTL.
      this.#o.log.warn('tenant hold not released', { tenant: this.#o.tenant.id, error: String(error) })
    }
  }

  async #renew(): Promise<void> {
    if (this.#released) return
    const { store, tenant, clock, ttlMs } = this.#o
    try {
      if (await store.renew({ tenantId: tenant.id, holdId: this.#id, expiresAt: clock() + ttlMs })) return
      // Reclaimed after renewals failed for a whole TTL: take a place again if there is one.
      // The request keeps running either way: the limit is about fairness, not a backend's slots.
      const now = clock()
      const limit = tenant.maxConcurrentHolds ?? Number.POSITIVE_INFINITY
      await store.enter({ tenantId: tenant.id, holdId: this.#id, limit, now, expiresAt: now + ttlMs })
    } catch (error) {
      this.#o.log.warn('tenant hold not renewed', { tenant: tenant.id, error: String(error) })
    }
  }
}

/** The response, with `release` awaited when its body ends or is cancelled (before a Lambda stream closes). */
export function releaseWhenBodyEnds(response: Response, release: () => Promise<void>): Response {
  const reader = response.body?.getReader()
  if (!reader) {
    void release()
    return response
  }
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let next: ReadableStreamReadResult<Uint8Array>
      try {
        next = await reader.read()
      } catch (error) {
        await release()
        controller.error(error)
        return
      }
      if (next.done) {
        await release()
        controller.close()
      } else {
        controller.enqueue(next.value)
      }
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => undefined)
      await release()
    },
  })
  return new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  })
}
