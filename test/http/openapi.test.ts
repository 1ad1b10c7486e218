import { Validator } from '@seriousme/openapi-schema-validator'
import type { Hono } from 'hono'
import { beforeAll, describe, expect, it } from 'vitest'
import { MemoryBackendStore } from '../../shared/capacity/memory-backend-store.ts'
import { DEFAULT_CONFIG, parseGatewayConfig } from '../../shared/config/gateway-config.ts'
import { createApp } from '../../shared/http/app.ts'
import type { AppEnv } from '../../shared/http/app-deps.ts'
import { hashApiKey } from '../../shared/tenants/api-keys.ts'
import { MemoryTenantStore } from '../../shared/tenants/memory-tenant-store.ts'
import { jobStoreStub, queueDepthStub } from './support/optional-ports.ts'

type Document = {
  openapi: string
  paths: Record<string, Record<string, { parameters: { name: string; in: string; required?: boolean }[] }>>
}

let app: Hono<AppEnv>
let doc: Document

beforeAll(async () => {
  const store = new MemoryBackendStore()
  // Every optional port present, so every route the app can register is registered.
  app = createApp({
    config: parseGatewayConfig(DEFAULT_CONFIG),
    capacity: store,
    registry: store,
    tenants: new MemoryTenantStore(),
    backendClient: { chatCompletions: async () => new Response(null, { status: 500 }) },
    adminKeyHash: hashApiKey('sk-test-admin'),
    agentKeyHash: hashApiKey('sk-test-agent'),
    jobs: jobStoreStub,
    queueDepth: queueDepthStub,
  })
  const res = await app.request('http://localhost/openapi.json')
  expect(res.status).toBe(200)
  doc = (await res.json()) as Document
})

/** Hono's `/v1/jobs/:id` as OpenAPI's `/v1/jobs/{id}`. */
// Hono's `:id{.+}` (an id that may hold `/`) is `{id}` in OpenAPI.
const openApiPath = (honoPath: string) => honoPath.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}')

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(doc)
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
    expect(doc.openapi).toMatch(/^3\.1\./)
  })

  it('lists exactly the routes the app registers, method by method', () => {
    // Middleware (`app.use`) registers method ALL; the not-found handler registers no route.
    const registered = new Set(
      app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${openApiPath(r.path)}`),
    )
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    )
    expect([...registered].sort()).toEqual([...documented].sort())
  })

  it('declares every path parameter, and the overflow headers and ?wait where they apply', () => {
    for (const [path, methods] of Object.entries(doc.paths)) {
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1])
      for (const [method, op] of Object.entries(methods)) {
        const declared = op.parameters.filter((p) => p.in === 'path')
        expect({ at: `${method} ${path}`, params: declared.map((p) => p.name) }).toEqual({
          at: `${method} ${path}`,
          params: names,
        })
        for (const p of declared) expect(p.required).toBe(true)
      }
    }
    const chat = doc.paths['/v1/chat/completions']?.post?.parameters.map((p) => `${p.in}:${p.name}`)
    expect(chat).toEqual(
      expect.arrayContaining([
        'header:Prefer',
        'header:Idempotency-Key',
        'header:x-spillway-deadline',
        'header:x-spillway-webhook',
      ]),
    )
    expect(doc.paths['/v1/jobs/{id}']?.get?.parameters.map((p) => `${p.in}:${p.name}`)).toContain(
      'query:wait',
    )
  })

  it('documents request bodies with the schemas that validate them, and a schema for every JSON answer', () => {
    const chat = doc.paths['/v1/chat/completions']?.post as unknown as {
      requestBody: { content: { 'application/json': { schema: { required: string[]; properties: object } } } }
      responses: Record<string, { content?: Record<string, { schema: object }> }>
    }
    const schema = chat.requestBody.content['application/json'].schema
    expect(schema.required).toEqual(['model', 'messages'])
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['temperature', 'max_tokens', 'stream']),
    )
    for (const [status, response] of Object.entries(chat.responses)) {
      if (status !== '202' && status !== '200') {
        expect(response.content?.['application/json']?.schema).toMatchObject({ required: ['error'] })
      }
    }
  })
})

describe('GET /docs', () => {
  it('serves a self-contained page that renders the document from this origin', async () => {
    const res = await app.request('http://localhost/docs')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/html')
    expect(res.headers.get('content-security-policy')).toContain("connect-src 'self'")
    const html = await res.text()
    expect(html).toContain("fetch('/openapi.json')")
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="https?:/)
  })
})
