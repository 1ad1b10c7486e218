import { isIP } from 'node:net'
import { ServiceUnavailableError } from '../errors.ts'
import { refusedAddress } from '../net/host-check.ts'
import { DEFAULT_RESOLVE_TIMEOUT_MS, type ResolveHost, resolveWithin } from '../net/resolve-host.ts'

/** The resolver's "this name does not exist", as opposed to "could not find out". */
function nameDoesNotExist(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  return code === 'ENOTFOUND' || code === 'ENODATA' || /\b(ENOTFOUND|ENODATA)\b/.test(String(message))
}

/**
 * A name the literal check cannot judge (`gpu.example.com`) is resolved once at
 * registration, and refused if any of its addresses is one a literal would be
 * refused for: a name pointing at the metadata service is the classic way around
 * a literal-only check. A name that does not exist (yet) passes: it reaches
 * nothing, and calls to it fail like any dead backend. A resolver that is too
 * slow or fails otherwise fails the check closed, with a 503 the agent retries:
 * passing a name nobody could check would let exactly the slow, hostile
 * resolver through. Re-pointing the name after registration (DNS rebinding) is
 * not caught here; see docs/SECURITY.md.
 */
export async function refusedResolvedHost(options: {
  url: string
  resolve: ResolveHost
  timeoutMs?: number
}): Promise<string | undefined> {
  const host = new URL(options.url).hostname.replace(/^\[|\]$/g, '')
  if (isIP(host) !== 0) return undefined
  const timeoutMs = options.timeoutMs ?? DEFAULT_RESOLVE_TIMEOUT_MS
  const outcome = await resolveWithin({ host, resolve: options.resolve, timeoutMs })
  if (outcome.kind === 'timeout' || (outcome.kind === 'failed' && !nameDoesNotExist(outcome.error))) {
    const why = outcome.kind === 'timeout' ? `did not answer within ${timeoutMs} ms` : 'failed'
    throw new ServiceUnavailableError(`Could not check the backend's host name: DNS ${why}; retry shortly.`, {
      code: 'dns_unavailable',
      headers: { 'retry-after': '5' },
    })
  }
  for (const address of outcome.kind === 'addresses' ? outcome.addresses : []) {
    const refused = refusedAddress(address.toLowerCase())
    if (refused) return `${host} resolves to ${address}: ${refused}`
  }
  return undefined
}
