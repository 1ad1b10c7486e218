import { API_PATHS, type ApiKind } from './backend-apis.ts'
import type { BackendRecord } from './backend-record.ts'

export interface BackendCallOptions {
  readonly backend: Pick<BackendRecord, 'id' | 'url'>
  /** The OpenAI request body, with `model` already set to the tier's model id. */
  readonly body: Record<string, unknown>
  readonly signal: AbortSignal
}

/** How the gateway and the worker reach a model server: its OpenAI API over HTTP. */
export interface BackendClient {
  chatCompletions(options: BackendCallOptions): Promise<Response>
  /** Any other OpenAI API of the backend (`/v1/completions`, `/v1/embeddings`, `/v1/responses`); optional for chat-only fakes. */
  callApi?(options: BackendCallOptions & { readonly api: ApiKind }): Promise<Response>
  /** `GET /v1/models` of a server that is not registered yet (the registration check); optional for fakes. */
  listModels?(options: { url: string; signal: AbortSignal }): Promise<Response>
}

export class HttpBackendClient implements BackendClient {
  readonly #fetch: typeof fetch
  readonly #headers: Readonly<Record<string, string>>

  /**
   * @param options.apiKey sent to every backend as `Authorization: Bearer`, as model
   *   servers started with an API key (vLLM's `--api-key`) expect; servers without one ignore it.
   */
  constructor(options: { fetch?: typeof fetch; apiKey?: string | undefined } = {}) {
    this.#fetch = options.fetch ?? fetch
    this.#headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
    }
  }

  chatCompletions(options: BackendCallOptions): Promise<Response> {
    return this.callApi({ ...options, api: 'chat' })
  }

  callApi(options: BackendCallOptions & { readonly api: ApiKind }): Promise<Response> {
    return this.#fetch(`${options.backend.url}${API_PATHS[options.api]}`, {
      method: 'POST',
      headers: this.#headers,
      body: JSON.stringify(options.body),
      signal: options.signal,
      // Following a redirect would reach a URL the registration checks never saw
      // (an internal service) and relay its answer: a 3xx is a failed attempt instead.
      redirect: 'manual',
    })
  }

  listModels(options: { url: string; signal: AbortSignal }): Promise<Response> {
    return this.#fetch(`${options.url}/v1/models`, {
      headers: this.#headers,
      signal: options.signal,
      redirect: 'manual',
    })
  }
}

/** One call to the backend route of `api`; chat goes through `chatCompletions`, which every client has. */
export function callBackendApi(
  client: BackendClient,
  options: BackendCallOptions & { readonly api: ApiKind },
): Promise<Response> {
  if (options.api === 'chat') return client.chatCompletions(options)
  if (!client.callApi)
    return Promise.reject(new Error(`this backend client cannot call ${API_PATHS[options.api]}`))
  return client.callApi(options)
}
