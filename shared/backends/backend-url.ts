import { isIP } from 'node:net'

/**
 * Backend URLs come from registration calls, so they are untrusted input: a URL
 * pointing at the instance metadata service or another link-local address would
 * let a caller read credentials through the gateway. Private and loopback
 * addresses stay allowed: self-hosted model servers live there.
 *
 * Only literal addresses and well-known metadata names are checked here; DNS
 * names are resolved by the runtime at call time (see docs/ARCHITECTURE.md).
 */

const METADATA_HOSTS = new Set([
  'metadata.google.internal',
  'metadata',
  'instance-data',
  'instance-data.ec2.internal',
])

export type BackendUrlCheck = { ok: true; url: string } | { ok: false; reason: string }

export function checkBackendUrl(raw: string): BackendUrlCheck {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { ok: false, reason: 'not a valid absolute URL' }
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { ok: false, reason: 'scheme must be http or https' }
  if (url.username || url.password) return { ok: false, reason: 'credentials in the URL are not allowed' }
  if (url.search || url.hash) return { ok: false, reason: 'query and fragment are not allowed' }
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase()
  if (METADATA_HOSTS.has(host)) return { ok: false, reason: 'metadata service addresses are not allowed' }
  const refused = refusedAddress(host)
  if (refused) return { ok: false, reason: refused }
  // Normalised without a trailing slash so `${url}/v1/...` never doubles it.
  return { ok: true, url: url.toString().replace(/\/+$/, '') }
}

function refusedAddress(host: string): string | undefined {
  const family = isIP(host)
  if (family === 4) {
    const [a = 0, b = 0] = host.split('.').map(Number)
    if (a === 169 && b === 254) return 'link-local and metadata addresses are not allowed'
    if (a === 0) return 'unspecified addresses are not allowed'
    if (a >= 224) return 'multicast and reserved addresses are not allowed'
    if (a === 100 && b === 100) return 'metadata addresses are not allowed'
  }
  if (family === 6) {
    if (/^fe[89ab]/.test(host)) return 'link-local addresses are not allowed'
    if (host === '::' || host === '::0') return 'unspecified addresses are not allowed'
    if (host.startsWith('ff')) return 'multicast addresses are not allowed'
    if (host === 'fd00:ec2::254') return 'metadata addresses are not allowed'
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host)
    if (mapped?.[1]) return refusedAddress(mapped[1])
    // WHATWG URL turns ::ffff:a.b.c.d into hex groups; decode that form too.
    const hexMapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host)
    if (hexMapped?.[1] && hexMapped[2]) {
      const hi = Number.parseInt(hexMapped[1], 16)
      const lo = Number.parseInt(hexMapped[2], 16)
      return refusedAddress(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`)
    }
  }
  return undefined
}
