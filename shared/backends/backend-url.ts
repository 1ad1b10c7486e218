import { hostOf, parseHttpUrl, refusedHost } from '../net/host-check.ts'

/**
 * Backend URLs come from registration calls, so they are untrusted input: a URL
 * pointing at the instance metadata service or another link-local address would
 * let a caller read credentials through the gateway. Private and loopback
 * addresses stay allowed: self-hosted model servers live there.
 *
 * Literal addresses and well-known metadata names are checked here (the rules
 * shared with webhooks, `net/host-check.ts`); other names are resolved at
 * registration by `backend-host-check.ts`.
 */

export type BackendUrlCheck = { ok: true; url: string } | { ok: false; reason: string }

export function checkBackendUrl(raw: string): BackendUrlCheck {
  const parsed = parseHttpUrl(raw)
  if (!parsed.ok) return parsed
  const { url } = parsed
  if (url.search || url.hash) return { ok: false, reason: 'query and fragment are not allowed' }
  const refused = refusedHost(hostOf(url))
  if (refused) return { ok: false, reason: refused }
  // Normalised without a trailing slash so `${url}/v1/...` never doubles it.
  return { ok: true, url: url.toString().replace(/\/+$/, '') }
}
