import { ConfigError } from '../config/gateway-config.ts'

/**
 * Reads `SPILLWAY_CORS_ORIGINS`: comma-separated origins (`https://app.example.com`)
 * or `*`; empty or unset means CORS is off. A path, a trailing slash or a
 * wildcard subdomain is refused at start-up: browsers compare the exact origin,
 * so such an entry would silently match nothing.
 *
 * @example parseCorsOrigins('https://a.example.com, http://localhost:5173') // ['https://a.example.com', 'http://localhost:5173']
 */
export function parseCorsOrigins(text: string | undefined): string[] {
  const entries = (text ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
  const problems = entries.filter((entry) => entry !== '*' && !isOrigin(entry))
  if (problems.length > 0) {
    throw new ConfigError(
      `SPILLWAY_CORS_ORIGINS: not an origin (scheme://host[:port], or *): ${problems.map((p) => JSON.stringify(p)).join(', ')}`,
    )
  }
  return entries
}

function isOrigin(entry: string): boolean {
  try {
    const url = new URL(entry)
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === entry
  } catch {
    return false
  }
}
