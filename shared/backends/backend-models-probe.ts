import type { BackendClient } from './backend-client.ts'

/**
 * What a backend's `GET /v1/models` says about a registration:
 * - `serves`: it lists every model the registration claims;
 * - `missing`: it answered and does not list some of them: a backend registered for a
 *   model it does not serve answers 404 to every request (vLLM: "model does not exist");
 * - `unverified`: no usable answer (not up yet, a wrong key, not an OpenAI server): the
 *   registration stands, and the request path judges the backend by its answers.
 */
export type ModelsProbeResult =
  | { readonly kind: 'serves' }
  | { readonly kind: 'missing'; readonly missing: readonly string[]; readonly served: readonly string[] }
  | { readonly kind: 'unverified'; readonly reason: string }

/** The most model ids quoted back in a refusal. */
const MAX_LISTED = 20

/**
 * Asks a registering backend which models it serves. An agent may register a
 * server that is still loading its weights (vLLM serves `/v1/models` only once
 * loaded), so an unreachable backend is not refused: only a definite list that
 * lacks a claimed model is. Returns undefined when the client cannot list models.
 */
export async function probeBackendModels(options: {
  client: BackendClient
  url: string
  models: readonly string[]
  timeoutMs?: number
}): Promise<ModelsProbeResult | undefined> {
  const { client } = options
  if (!client.listModels) return undefined
  const signal = AbortSignal.timeout(options.timeoutMs ?? 3_000)
  let body: unknown
  try {
    const res = await client.listModels({ url: options.url, signal })
    if (res.status < 200 || res.status >= 300) {
      await res.body?.cancel().catch(() => undefined)
      return { kind: 'unverified', reason: `GET /v1/models answered ${res.status}` }
    }
    body = await res.json()
  } catch {
    return {
      kind: 'unverified',
      reason: signal.aborted ? 'GET /v1/models timed out' : 'GET /v1/models failed',
    }
  }
  const data = (body as { data?: unknown } | null)?.data
  if (!Array.isArray(data))
    return { kind: 'unverified', reason: 'GET /v1/models is not an OpenAI model list' }
  const served = data
    .map((entry) => (entry as { id?: unknown } | null)?.id)
    .filter((id): id is string => typeof id === 'string')
  const missing = options.models.filter((model) => !served.includes(model))
  if (missing.length === 0) return { kind: 'serves' }
  return { kind: 'missing', missing, served: served.slice(0, MAX_LISTED).map((id) => id.slice(0, 256)) }
}
