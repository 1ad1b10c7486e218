import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { refusedAddress } from './backend-url.ts'

/** Every address a host name resolves to (A and AAAA), as the runtime's resolver sees it. */
export type ResolveHost = (host: string) => Promise<readonly string[]>

export const systemResolveHost: ResolveHost = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address)

/**
 * A name the literal check cannot judge (`gpu.example.com`) is resolved once at
 * registration, and refused if any of its addresses is one a literal would be
 * refused for: a name pointing at the metadata service is the classic way around
 * a literal-only check. A name that does not resolve (yet) passes: it reaches
 * nothing, and calls to it fail like any dead backend. Re-pointing the name after
 * registration (DNS rebinding) is not caught here; see docs/ARCHITECTURE.md.
 */
export async function refusedResolvedHost(options: {
  url: string
  resolve: ResolveHost
  timeoutMs?: number
}): Promise<string | undefined> {
  const host = new URL(options.url).hostname.replace(/^\[|\]$/g, '')
  if (isIP(host) !== 0) return undefined
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), options.timeoutMs ?? 2_000)
  })
  try {
    const addresses = await Promise.race([options.resolve(host).catch(() => undefined), timedOut])
    for (const address of addresses ?? []) {
      const refused = refusedAddress(address.toLowerCase())
      if (refused) return `${host} resolves to ${address}: ${refused}`
    }
    return undefined
  } finally {
    clearTimeout(timer)
  }
}
