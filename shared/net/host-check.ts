import { isIP } from 'node:net'

/**
 * The host checks both URL rules share: backend URLs (`backends/backend-url.ts`)
 * and webhook URLs (`jobs/webhook-url.ts`) are untrusted input the deployment
 * connects to, so neither may name the instance metadata service, a link-local
 * address or a reserved one. What each rule allows beyond that (private networks,
 * query strings) is the rule's own.
 */

const METADATA_HOSTS = new Set([
  'metadata.google.internal',
  'metadata',
  'instance-data',
  'instance-data.ec2.internal',
])

export type UrlCheck = { ok: true; url: URL } | { ok: false; reason: string }

/** An absolute http(s) URL without credentials in it. */
export function parseHttpUrl(raw: string): UrlCheck {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { ok: false, reason: 'not a valid absolute URL' }
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { ok: false, reason: 'scheme must be http or https' }
  if (url.username || url.password) return { ok: false, reason: 'credentials in the URL are not allowed' }
  return { ok: true, url }
}

/** Lower-case, without IPv6 brackets or a trailing dot (`metadata.google.internal.` is the same name). */
export function hostOf(url: URL): string {
  return url.hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.+$/, '')
    .toLowerCase()
}

/** Why a host (a name or a literal address) is refused for every target, or undefined. */
export function refusedHost(host: string): string | undefined {
  if (METADATA_HOSTS.has(host)) return 'metadata service addresses are not allowed'
  return refusedAddress(host)
}

/** Why a literal IPv4 or IPv6 address may not be a target, or undefined (names pass). */
export function refusedAddress(host: string): string | undefined {
  const family = isIP(host)
  if (family === 4) return refusedIPv4(host.split('.').map(Number))
  if (family === 6) return refusedIPv6(ipv6Groups(host))
  return undefined
}

function refusedIPv4([a = 0, b = 0]: readonly number[]): string | undefined {
  if (a === 169 && b === 254) return 'link-local and metadata addresses are not allowed'
  if (a === 0) return 'unspecified addresses are not allowed'
  if (a >= 224) return 'multicast and reserved addresses are not allowed'
  if (a === 100 && b === 100) return 'metadata addresses are not allowed'
  return undefined
}

const AWS_METADATA_V6 = [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254]

function refusedIPv6(groups: readonly number[]): string | undefined {
  const [g0 = 0, g1 = 0, g2 = 0, , g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups
  const zero = (from: number, to: number) => groups.slice(from, to).every((g) => g === 0)
  if (zero(0, 8)) return 'unspecified addresses are not allowed'
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local addresses are not allowed'
  if ((g0 & 0xff00) === 0xff00) return 'multicast addresses are not allowed'
  if (AWS_METADATA_V6.every((g, i) => groups[i] === g)) return 'metadata addresses are not allowed'
  // Forms that carry an IPv4 address and may reach it (WHATWG URL writes them as hex
  // groups): mapped ::ffff:0:0/96, translated ::ffff:0:0:0/96, NAT64 64:ff9b::/96,
  // 6to4 2002::/16, and the deprecated compatible ::/96 (but ::1 is loopback).
  const mapped = zero(0, 5) && g5 === 0xffff
  const translated = zero(0, 4) && g4 === 0xffff && g5 === 0
  const nat64 = g0 === 0x64 && g1 === 0xff9b && zero(2, 6)
  const compatible = zero(0, 6) && !(g6 === 0 && g7 === 1)
  if (mapped || translated || nat64 || compatible) return refusedIPv4([g6 >> 8, g6 & 255, g7 >> 8, g7 & 255])
  if (g0 === 0x2002) return refusedIPv4([g1 >> 8, g1 & 255, g2 >> 8, g2 & 255])
  return undefined
}

/** The eight 16-bit groups of an address `isIP` accepted (`::` expanded, a dotted tail split in two). */
function ipv6Groups(host: string): number[] {
  const toGroups = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [Number.parseInt(group, 16)]
          const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number)
          return [(a << 8) | b, (c << 8) | d]
        })
  const [head = '', tail] = host.split('::')
  const left = toGroups(head)
  if (tail === undefined) return left
  const right = toGroups(tail)
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
}
