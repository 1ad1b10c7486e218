import type { Hono } from 'hono'
import { beforeAll, describe, expect, it } from 'vitest'
import { seedTenantKey } from '../../local/tenants.ts'
import { MemoryBackendStore } from '../../shared/capacity/memory-backend-store.ts'
import { DEFAULT_CONFIG, parseGatewayConfig } from '../../shared/config/gateway-config.ts'
import { createApp } from '../../shared/http/app.ts'
import type { AppEnv } from '../../shared/http/app-deps.ts'
import { parseCorsOrigins } from '../../shared/runtime/cors-origins.ts'
import { hashApiKey } from '../../shared/tenants/api-keys.ts'
import { MemoryTenantStore } from '../../shared/tenants/memory-tenant-store.ts'

/** CORS at the HTTP surface (`createApp(deps).request`, memory adapters); the browser test is cors-browser.test.ts. */
const ALLOWED = 'https://app.example.com'
const KEY = 'sk-cors-tenant'

async function gateway(corsOrigins?: string[]): Promise<Hono<AppEnv>> {
  const store = new MemoryBackendStore()
  const tenants = new MemoryTenantStore()
  await seedTenantKey({ tenants, policy: { id: 'web' }, key: KEY, now: 0 })
  return createApp({
    config: parseGatewayConfig(DEFAULT_CONFIG),
    capacity: store,
    registry: store,
    tenants,
    backendClient: { chatCompletions: async () => new Response(null, { status: 500 }) },
    adminKeyHash: hashApiKey('sk-admin'),
    ...(corsOrigins ? { corsOrigins } : {}),
  })
}

const preflight = (origin: string) => ({
  method: 'OPTIONS',
  headers: {
    origin,
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'authorization, content-type, x-stainless-os',
  },
})

let off: Hono<AppEnv>
let on: Hono<AppEnv>
beforeAll(async () => {
  off = await gateway()
  on = await gateway([ALLOWED, 'http://localhost:5173'])
})

describe('CORS off (the default)', () => {
  it('adds no CORS header and answers a preflight like any keyless request', async () => {
    const res = await off.request('/v1/chat/completions', preflight(ALLOWED))
    expect(res.status).toBe(401)
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('CORS on', () => {
  it('answers a preflight from an allowed origin without a key', async () => {
    const res = await on.request('/v1/chat/completions', preflight(ALLOWED))
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED)
    expect(res.headers.get('access-control-allow-methods')).toContain('POST')
    // The openai SDK's own x-stainless-* headers must pass, whatever their names.
    expect(res.headers.get('access-control-allow-headers')).toBe('authorization,content-type,x-stainless-os')
    expect(res.headers.get('vary')).toContain('Origin')
  })

  it('allows nothing to an origin not on the list', async () => {
    const res = await on.request('/v1/chat/completions', preflight('https://evil.example.net'))
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
    const get = await on.request('/v1/models', {
      headers: { origin: 'https://evil.example.net', authorization: `Bearer ${KEY}` },
    })
    expect(get.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('still demands the key on every request that is not a preflight', async () => {
    const res = await on.request('/v1/models', { headers: { origin: ALLOWED } })
    expect(res.status).toBe(401)
    // …with the CORS headers on, so the page can read why.
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED)
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('authentication_error')
  })

  it("exposes Spillway's route, request id, retry and job headers to the page", async () => {
    const res = await on.request('/v1/models', {
      headers: { origin: ALLOWED, authorization: `Bearer ${KEY}` },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED)
    const exposed = res.headers.get('access-control-expose-headers')?.split(',') ?? []
    for (const name of [
      'x-spillway-route',
      'x-spillway-hardware',
      'x-spillway-backend',
      'x-request-id',
      'retry-after',
      'location',
    ]) {
      expect(exposed).toContain(name)
    }
  })

  it('allows any origin with *', async () => {
    const any = await gateway(['*'])
    const res = await any.request('/v1/chat/completions', preflight('https://anything.example.org'))
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
  })
})

describe('parseCorsOrigins', () => {
  it('reads comma-separated origins, empty meaning off', () => {
    expect(parseCorsOrigins(' https://a.example.com , http://localhost:5173 ')).toEqual([
      'https://a.example.com',
      'http://localhost:5173',
    ])
    expect(parseCorsOrigins(undefined)).toEqual([])
    expect(parseCorsOrigins(' , ')).toEqual([])
  })

  it('refuses entries a browser never sends as an Origin, naming each', () => {
    expect(() => parseCorsOrigins('https://a.example.com/,*.example.com,ftp://x.example.com')).toThrow(
      'SPILLWAY_CORS_ORIGINS: not an origin (scheme://host[:port], or *): "https://a.example.com/", "*.example.com", "ftp://x.example.com"',
    )
  })
})
