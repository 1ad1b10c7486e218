/**
 * The agent's side of the gateway's backend protocol (`shared/http/routes/admin-backends.ts`):
 *
 *   POST {gateway}/admin/backends                 { id, url, hardware, models, maxConcurrency, apis? }
 *   POST {gateway}/admin/backends/{id}/heartbeat  { running, waiting, kvCacheUsage }
 *   POST {gateway}/admin/backends/{id}/drain      (admin key only, unless the gateway allows more)
 *
 * Each call answers the status and the gateway's own error message, so the
 * agent can log why it was refused; only the message is kept, never the body.
 */

import type { ApiKind } from '../backends/backend-apis.ts'
import { describeFetchFailure } from './backend-probe.ts'
import type { EngineLoad } from './engine-dialects.ts'

export interface AgentRegistration {
  readonly id: string
  readonly url: string
  readonly hardware: string
  readonly models: readonly string[]
  readonly maxConcurrency: number
  /** The OpenAI APIs it serves; the gateway assumes chat and completions when absent. */
  readonly apis?: readonly ApiKind[]
}

export type GatewayAnswer =
  | { readonly ok: true; readonly status: number }
  | { readonly ok: false; readonly status?: number; readonly reason: string }

export interface AgentGatewayOptions {
  readonly gatewayUrl: string
  readonly agentKey: string
  readonly timeoutMs: number
  readonly signal: AbortSignal
}

export class AgentGateway {
  readonly #base: string
  readonly #options: AgentGatewayOptions

  constructor(options: AgentGatewayOptions) {
    this.#base = options.gatewayUrl.replace(/\/+$/, '')
    this.#options = options
  }

  register(registration: AgentRegistration): Promise<GatewayAnswer> {
    return this.#post('/admin/backends', registration)
  }

  heartbeat(id: string, load: EngineLoad): Promise<GatewayAnswer> {
    return this.#post(`/admin/backends/${encodeURIComponent(id)}/heartbeat`, load)
  }

  /** Not bound to the agent's stop signal: it is sent while stopping. */
  drain(id: string): Promise<GatewayAnswer> {
    return this.#post(
      `/admin/backends/${encodeURIComponent(id)}/drain`,
      undefined,
      AbortSignal.timeout(this.#options.timeoutMs),
    )
  }

  async #post(path: string, body: unknown, signal?: AbortSignal): Promise<GatewayAnswer> {
    try {
      const response = await fetch(`${this.#base}${path}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${this.#options.agentKey}`, 'Content-Type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal:
          signal ?? AbortSignal.any([this.#options.signal, AbortSignal.timeout(this.#options.timeoutMs)]),
      })
      const text = await response.text()
      if (response.ok) return { ok: true, status: response.status }
      return { ok: false, status: response.status, reason: `HTTP ${response.status}${errorMessage(text)}` }
    } catch (error) {
      return { ok: false, reason: describeFetchFailure(error) }
    }
  }
}

/** The `error.message` of an OpenAI-style error body, bounded, or nothing. */
function errorMessage(text: string): string {
  try {
    const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message
    return typeof message === 'string' && message !== '' ? `: ${message.slice(0, 300)}` : ''
  } catch {
    return ''
  }
}
