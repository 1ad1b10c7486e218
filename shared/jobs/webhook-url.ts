import { BlockList, isIP } from 'node:net'
import { hostOf, parseHttpUrl, refusedAddress, refusedHost } from '../net/host-check.ts'
import { type ResolveHost, resolveWithin } from '../net/resolve-host.ts'

/**
 * The one rule for `x-spillway-webhook` targets. Unlike a backend URL (an
 * operator's model server, often on a private network), a webhook URL is a
 * tenant's input that the worker, reaper and DLQ handler POST to from inside the
 * deployment: loopback, private and link-local targets would let a tenant reach
 * internal services, so they are refused unless the operator allows private
 * networks (the local stack and tests do, for a receiver on 127.0.0.1).
 *
 * Checked twice: the literal form when the request arrives (a clear 400), and at
 * every delivery attempt after resolving the name, with the connection pinned to
 * the address that passed (`resolveWebhookTarget`), so a name re-pointed between
 * check and connect (DNS rebinding) reaches nothing it could not name directly.
 */
export interface WebhookTargetPolicy {
  /** Allow loopback and private addresses (local stack and tests only; never a deployment). */
  readonly allowPrivateNetworks?: boolean
}

/** Stored on the job item, inside its size budget (`job-size.ts`). */
export const MAX_WEBHOOK_URL_LENGTH = 2048

const LOCAL_NAMES = /(^|\.)(localhost|localdomain|internal|local)$/

const privateNetworks = new BlockList()
for (const [net, prefix] of [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['127.0.0.0', 8],
  // Carrier-grade NAT, where cloud providers put internal services (100.100.100.200 among them).
  ['100.64.0.0', 10],
  ['192.0.0.0', 24],
  ['198.18.0.0', 15],
] as const) {
  privateNetworks.addSubnet(net, prefix, 'ipv4')
}
privateNetworks.addSubnet('::1', 128, 'ipv6')
privateNetworks.addSubnet('fc00::', 7, 'ipv6')
privateNetworks.addSubnet('fec0::', 10, 'ipv6')

export type WebhookUrlCheck = { ok: true; url: string } | { ok: false; reason: string }

/** Why this literal address may not receive webhooks under the policy, or undefined. */
export function refusedWebhookAddress(address: string, policy: WebhookTargetPolicy = {}): string | undefined {
  const always = refusedAddress(address)
  if (always) return always
  if (policy.allowPrivateNetworks) return undefined
  const family = isIP(address)
  // BlockList also matches IPv4-mapped IPv6 forms (::ffff:10.0.0.1) against the IPv4 subnets.
  if (family !== 0 && privateNetworks.check(address, family === 4 ? 'ipv4' : 'ipv6'))
    return 'loopback and private addresses are not allowed'
  return undefined
}

/** The request-time check: syntax, credentials, size and a literal or local-only host. Queries are fine. */
export function checkWebhookUrl(raw: string, policy: WebhookTargetPolicy = {}): WebhookUrlCheck {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH)
    return { ok: false, reason: `longer than ${MAX_WEBHOOK_URL_LENGTH} characters` }
  const parsed = parseHttpUrl(raw)
  if (!parsed.ok) return parsed
  const { url } = parsed
  const host = hostOf(url)
  // What every target is refused for: metadata names, link-local and reserved literals.
  const always = refusedHost(host)
  if (always) return { ok: false, reason: always }
  const refused =
    isIP(host) === 0
      ? !policy.allowPrivateNetworks && LOCAL_NAMES.test(host)
        ? 'local host names are not allowed'
        : undefined
      : refusedWebhookAddress(host, policy)
  if (refused) return { ok: false, reason: refused }
  return { ok: true, url: url.href }
}

export type WebhookTarget =
  | { ok: true; url: URL; address: string; family: 4 | 6 }
  /** `retryable`: the name did not resolve (yet); a refusal is final. */
  | { ok: false; reason: string; retryable: boolean }

/**
 * The address one delivery attempt connects to: the URL's literal address, or the
 * first address of its name, provided that every address the name resolves to is
 * allowed (a name with one bad address among good ones is refused: the resolver
 * could hand out either). Resolution is bounded; a slow resolver fails closed.
 */
export async function resolveWebhookTarget(options: {
  url: string
  policy?: WebhookTargetPolicy
  resolve?: ResolveHost
  timeoutMs?: number
}): Promise<WebhookTarget> {
  const checked = checkWebhookUrl(options.url, options.policy)
  if (!checked.ok) return { ...checked, retryable: false }
  const url = new URL(checked.url)
  const host = hostOf(url)
  if (isIP(host) !== 0) return { ok: true, url, address: host, family: isIP(host) as 4 | 6 }
  const resolution = await resolveWithin({
    host,
    ...(options.resolve ? { resolve: options.resolve } : {}),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  })
  const addresses = resolution.kind === 'addresses' ? resolution.addresses : undefined
  if (!addresses || addresses.length === 0)
    return { ok: false, reason: `${host} did not resolve`, retryable: true }
  for (const address of addresses) {
    const refused = refusedWebhookAddress(address.toLowerCase(), options.policy)
    if (refused) return { ok: false, reason: `${host} resolves to ${address}: ${refused}`, retryable: false }
  }
  const [address = ''] = addresses
  return { ok: true, url, address, family: isIP(address) === 6 ? 6 : 4 }
}
