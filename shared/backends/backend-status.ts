/**
 * What a model backend's HTTP status means for the request, the same for the
 * gateway (before the first byte) and the worker:
 * - `ok`: a 2xx, read the answer;
 * - `retry`: another backend may answer. Timeouts, 5xx and a refused API key (401/403:
 *   our key, not the client's) count against the backend's circuit; a 429 is load and
 *   does not;
 * - `rejected`: any other 4xx is about the request itself, so every backend would say the same.
 */
export type BackendStatusVerdict =
  | { readonly kind: 'ok' }
  | { readonly kind: 'retry'; readonly reason: string; readonly countsAgainstBackend: boolean }
  | { readonly kind: 'rejected' }

export function judgeBackendStatus(status: number): BackendStatusVerdict {
  if (status < 400) return { kind: 'ok' }
  if (status === 429) return { kind: 'retry', reason: 'status 429', countsAgainstBackend: false }
  if (status === 408 || status >= 500)
    return { kind: 'retry', reason: `status ${status}`, countsAgainstBackend: true }
  if (status === 401 || status === 403)
    return {
      kind: 'retry',
      reason: `status ${status}: the backend refused our API key`,
      countsAgainstBackend: true,
    }
  return { kind: 'rejected' }
}

/** The backend's own message for a rejected request, never its raw body (it may name internals). */
export function rejectionMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown }; message?: unknown }
    const candidate = parsed.error?.message ?? parsed.message
    if (typeof candidate === 'string' && candidate.length > 0) return candidate.slice(0, 500)
  } catch {
    // Not JSON: the generic message below.
  }
  return 'The model backend rejected the request.'
}
