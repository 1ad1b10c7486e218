/**
 * The OpenAI APIs a request can use and a backend can serve. A request is
 * routed only to backends that list its API: a model server that lists a model
 * may still not serve every route for it (an embedding server has no chat
 * template; llama.cpp and TGI have no `/v1/responses`).
 */
export const API_KINDS = ['chat', 'completions', 'embeddings', 'responses'] as const
export type ApiKind = (typeof API_KINDS)[number]

/** What an agent that predates the `apis` field served: every engine has these two routes. */
export const DEFAULT_BACKEND_APIS: readonly ApiKind[] = Object.freeze(['chat', 'completions'])

/** The backend route of each API (the gateway's public route is the same path). */
export const API_PATHS: Readonly<Record<ApiKind, string>> = Object.freeze({
  chat: '/v1/chat/completions',
  completions: '/v1/completions',
  embeddings: '/v1/embeddings',
  responses: '/v1/responses',
})

export function isApiKind(value: unknown): value is ApiKind {
  return typeof value === 'string' && (API_KINDS as readonly string[]).includes(value)
}

/** The APIs a backend serves: its registration's list, or the default for older agents. */
export function backendApis(backend: { readonly apis?: readonly ApiKind[] | undefined }): readonly ApiKind[] {
  return backend.apis && backend.apis.length > 0 ? backend.apis : DEFAULT_BACKEND_APIS
}
