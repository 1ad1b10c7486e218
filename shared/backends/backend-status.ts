/**
 * What a model backend's HTTP status means for the request, the same for the
 * gateway (before the first byte) and the worker:
 * - `ok`: a 2xx, read the answer;
 * - `retry`: another backend may answer. Load (429) does not count against the
 *   backend's circuit; everything else here is the backend's own fault and does;
 * - `rejected`: the request itself is wrong (400, 413, 422), so every backend would say the same.
 *
 * A 4xx is not automatically the client's: the gateway chose the backend, the model id
 * sent to it, the key and the path. A backend registered for a model it does not serve
 * answers 404 to everything, and one whose key we got wrong 401; passing those on (and
 * resetting its breaker as a success) made a fast, always-free broken backend win the
 * weighted pick. A 3xx is never followed (the registration URL checks would be bypassed),
 * so it is a failed attempt too.
 */
export type BackendStatusVerdict =
  | { readonly kind: 'ok' }
  | { readonly kind: 'retry'; readonly reason: string; readonly countsAgainstBackend: boolean }
  | { readonly kind: 'rejected' }

/** The statuses that describe the request's content: the client's to fix. */
const REQUEST_FAULTS: ReadonlySet<number> = new Set([400, 413, 422])

const BACKEND_FAULT_REASONS: Readonly<Record<number, string>> = {
  401: 'the backend refused our API key',
  403: 'the backend refused our API key',
  404: 'the backend does not serve this model or route',
  405: 'the backend does not allow this method',
}

export function judgeBackendStatus(status: number): BackendStatusVerdict {
  if (status >= 200 && status < 300) return { kind: 'ok' }
  if (status === 429) return { kind: 'retry', reason: 'status 429', countsAgainstBackend: false }
  if (REQUEST_FAULTS.has(status)) return { kind: 'rejected' }
  if (status >= 300 && status < 400)
    return {
      kind: 'retry',
      reason: `status ${status}: redirects are not followed`,
      countsAgainstBackend: true,
    }
  const why = BACKEND_FAULT_REASONS[status]
  return {
    kind: 'retry',
    reason: why ? `status ${status}: ${why}` : `status ${status}`,
    countsAgainstBackend: true,
  }
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
