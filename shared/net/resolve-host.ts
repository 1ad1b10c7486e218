import { lookup } from 'node:dns/promises'

/** Every address a host name resolves to (A and AAAA), as the runtime's resolver sees it. */
export type ResolveHost = (host: string) => Promise<readonly string[]>

export const systemResolveHost: ResolveHost = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address)

export const DEFAULT_RESOLVE_TIMEOUT_MS = 2_000

export type Resolution =
  | { readonly kind: 'addresses'; readonly addresses: readonly string[] }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'timeout' }

/**
 * One bounded lookup: a resolver that hangs must not hold a registration or a
 * webhook delivery, so the caller gets `timeout` and decides (both rules fail closed).
 */
export async function resolveWithin(options: {
  host: string
  resolve?: ResolveHost
  timeoutMs?: number
}): Promise<Resolution> {
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<Resolution>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timeout' }), options.timeoutMs ?? DEFAULT_RESOLVE_TIMEOUT_MS)
  })
  try {
    return await Promise.race([
      (options.resolve ?? systemResolveHost)(options.host).then(
        (addresses): Resolution => ({ kind: 'addresses', addresses }),
        (error: unknown): Resolution => ({ kind: 'failed', error }),
      ),
      timedOut,
    ])
  } finally {
    clearTimeout(timer)
  }
}
