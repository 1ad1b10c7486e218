import fc from 'fast-check'
import type { Hono } from 'hono'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { seedTenantKey } from '../../local/tenants.ts'
import type { BackendCallOptions, BackendClient } from '../../shared/backends/backend-client.ts'
import type { BackendLoad, BackendRecord, BackendState } from '../../shared/backends/backend-record.ts'
import { checkBackendUrl } from '../../shared/backends/backend-url.ts'
import { MemoryBackendStore } from '../../shared/capacity/memory-backend-store.ts'
import { DEFAULT_CONFIG, parseGatewayConfig } from '../../shared/config/gateway-config.ts'
import { createApp } from '../../shared/http/app.ts'
import type { AppEnv } from '../../shared/http/app-deps.ts'
import { ChatCompletionRequestSchema } from '../../shared/http/chat-request.ts'
import { bearerToken, hashApiKey } from '../../shared/tenants/api-keys.ts'
import { MemoryTenantStore } from '../../shared/tenants/memory-tenant-store.ts'

/**
 * Invariant 5 at the HTTP surface: whatever arrives, the answer is a 4xx in the
 * OpenAI error shape, never a 5xx, and invalid input never reaches a backend.
 * Memory adapters and a backend client that records calls; the emulator-backed
 * tests live in gateway-*.test.ts.
 */
const T0 = Date.UTC(2026, 0, 1)
const MODEL = 'deepseek-r1-distill-llama-8b'
const MAX_BODY = 4096
const ADMIN_KEY = 'sk-test-admin'
const AGENT_KEY = 'sk-test-agent'
const KEY = {
  open: 'sk-test-open',
  otherModel: 'sk-test-other',
  limited: 'sk-test-limited',
  revoked: 'sk-test-revoked',
}
const ALLOWED = [400, 401, 403, 404, 413, 422, 429]
const config = parseGatewayConfig({ ...DEFAULT_CONFIG, maxBodyBytes: MAX_BODY })

/** The memory store, refusing what DynamoDB refuses, so a value that would 5xx on AWS fails here too. */
class DynamoLimitedStore extends MemoryBackendStore {
  override heartbeat(options: {
    id: string
    load: BackendLoad
    now: number
  }): Promise<BackendRecord | undefined> {
    const { id, load, now } = options
    assertKey(id)
    for (const n of Object.values(load)) {
      if (Math.abs(n) > Number.MAX_SAFE_INTEGER || (n !== 0 && Math.abs(n) < 1e-130)) {
        throw new Error(`ValidationException: number ${n} out of range`)
      }
    }
    return super.heartbeat({ id, load, now })
  }
  override setState(options: { id: string; state: BackendState }) {
    const { id, state } = options
    assertKey(id)
    return super.setState({ id, state })
  }
  override deregister(id: string) {
    assertKey(id)
    return super.deregister(id)
  }
}

function assertKey(id: string): void {
  if (Buffer.byteLength(id) > 2048) throw new Error('ValidationException: hash key over 2048 bytes')
}

/** DNS for these tests: names that point at metadata addresses; every other name does not resolve. */
const ALIASES: Record<string, string[]> = {
  'metadata.alias.test': ['10.0.0.7', '169.254.169.254'],
  'ec2v6.alias.test': ['fd00:ec2::254'],
}
const fakeResolveHost = async (host: string): Promise<readonly string[]> => {
  const addresses = ALIASES[host]
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
  return addresses
}

const reached: BackendCallOptions[] = []
const recordingClient: BackendClient = {
  async chatCompletions(options) {
    reached.push(options)
    return Response.json({ id: 'x', object: 'chat.completion', choices: [] })
  },
}

async function gateway(options: { freeSlots: boolean }): Promise<Hono<AppEnv>> {
  const store = new DynamoLimitedStore()
  const tenants = new MemoryTenantStore()
  const seed = (key: string, policy: Parameters<typeof seedTenantKey>[0]['policy']) =>
    seedTenantKey({ tenants, policy, key, now: T0 })
  await seed(KEY.open, { id: 'open', mayDegrade: true })
  await seed(KEY.otherModel, { id: 'other', models: ['another-model'] })
  await seed(KEY.limited, { id: 'limited', rateLimitPerMinute: 1 })
  await seed(KEY.revoked, { id: 'revoked' })
  await tenants.revokeKey(hashApiKey(KEY.revoked), T0)
  await tenants.consumeRate({ tenantId: 'limited', limitPerMinute: 1, now: T0 })
  await store.register({
    registration: {
      id: 'h20-1',
      url: 'http://127.0.0.1:9',
      hardware: 'h20',
      models: [MODEL],
      maxConcurrency: 1,
    },
    now: T0,
  })
  if (!options.freeSlots) {
    await store.acquire({
      backendId: 'h20-1',
      leaseId: 'held',
      now: T0,
      expiresAt: T0 + 3_600_000,
      staleBefore: 0,
      reclaim: [],
    })
  }
  return createApp({
    config,
    capacity: store,
    registry: store,
    tenants,
    backendClient: recordingClient,
    adminKeyHash: hashApiKey(ADMIN_KEY),
    agentKeyHash: hashApiKey(AGENT_KEY),
    resolveHost: fakeResolveHost,
    clock: () => T0,
  })
}

let app: Hono<AppEnv>
let busyApp: Hono<AppEnv>
beforeAll(async () => {
  app = await gateway({ freeSlots: true })
  busyApp = await gateway({ freeSlots: false })
})
afterEach(() => {
  // Invalid input must be refused before any backend is called.
  expect(reached.splice(0)).toEqual([])
})

const bearer = (key: string) => ({ authorization: `Bearer ${key}` })
const validChat = () => ({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 })

function post(path: string, body: BodyInit, headers: Record<string, string> = bearer(KEY.open)) {
  return app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  })
}

/** Status among the allowed 4xx and the exact OpenAI error shape. */
async function expectOpenAiError(res: Response, allowed: readonly number[] = ALLOWED) {
  expect(allowed).toContain(res.status)
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  const body = (await res.json()) as { error: Record<string, unknown> }
  expect(Object.keys(body)).toEqual(['error'])
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type'])
  expect(body.error.message).toEqual(expect.any(String))
  expect(body.error.message).not.toBe('')
  expect(body.error.type).toEqual(expect.any(String))
  expect(body.error.code).toEqual(expect.any(String))
  expect(body.error.param === null || typeof body.error.param === 'string').toBe(true)
  if (res.status === 429) expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
  return body.error
}

/** Header values a client can actually send (no NUL, CR or LF). */
const headerValue = fc.string({ unit: 'binary-ascii', maxLength: 60 }).filter((v) => !/[\0\r\n]/.test(v))
const isValidChat = (value: unknown) =>
  ChatCompletionRequestSchema.safeParse(JSON.parse(JSON.stringify(value) ?? 'null')).success

/** What the registration route accepts, restated so generated bodies that happen to be valid are skipped. */
function isValidRegistration(text: string): boolean {
  let value: Record<string, unknown>
  try {
    value = JSON.parse(text) as Record<string, unknown>
  } catch {
    return false
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const { id, url, hardware, models, maxConcurrency } = value
  return (
    typeof id === 'string' &&
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id) &&
    typeof url === 'string' &&
    url.length <= 2048 &&
    checkBackendUrl(url).ok &&
    !/\.alias\.test$/.test(new URL(url).hostname) &&
    config.hardwareClasses.some((h) => h.id === hardware) &&
    Array.isArray(models) &&
    models.length >= 1 &&
    models.length <= 64 &&
    models.every((m) => typeof m === 'string' && m.length >= 1 && m.length <= 256) &&
    Number.isInteger(maxConcurrency) &&
    Number(maxConcurrency) >= 1 &&
    Number(maxConcurrency) <= 1024
  )
}

function withPath(target: Record<string, unknown>, path: readonly (string | number)[], value: unknown) {
  const copy = structuredClone(target)
  let node: Record<string | number, unknown> = copy
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>
  const last = path.at(-1) ?? ''
  if (value === undefined) delete node[last]
  else node[last] = value
  return copy
}

describe('POST /v1/chat/completions with malformed input', () => {
  it('answers 400 to any text that is not a valid request', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.json()), async (text) => {
        let parsed: unknown
        try {
          parsed = JSON.parse(text)
        } catch {}
        fc.pre(!isValidChat(parsed))
        await expectOpenAiError(await post('/v1/chat/completions', text), [400])
      }),
    )
  })

  it('answers 400 to arbitrary bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), async (bytes) => {
        await expectOpenAiError(await post('/v1/chat/completions', bytes), [400])
      }),
    )
  })

  it('answers 400 naming the field, whatever wrong value any field gets', async () => {
    const fields: readonly (readonly (string | number)[])[] = [
      ['model'],
      ['messages'],
      ['messages', 0],
      ['messages', 0, 'role'],
      ['messages', 0, 'content'],
      ['stream'],
      ['max_tokens'],
      ['max_completion_tokens'],
      ['n'],
      ['temperature'],
      ['top_p'],
      ['seed'],
      ['stream_options'],
    ]
    const wrong = fc.oneof(
      fc.jsonValue(),
      fc.constant(undefined),
      fc.double(),
      fc.integer({ min: -5, max: 5 }),
    )
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...fields), wrong, async (path, value) => {
        // Prepare
        const body = withPath(validChat(), path, value)
        fc.pre(!isValidChat(body))

        // Act
        const res = await post('/v1/chat/completions', JSON.stringify(body))

        // Assess
        const error = await expectOpenAiError(res, [400])
        expect(String(error.param)).toMatch(new RegExp(`^${path[0]}`))
      }),
    )
  })

  it('answers 400 to JSON nested deeper than a backend could be sent', async () => {
    // Prepare: valid in every field, with a deep extra that would overflow JSON.stringify.
    const deep = JSON.stringify(validChat()).replace(/}$/, `,"extra":${'['.repeat(1500)}${']'.repeat(1500)}}`)

    // Act
    const res = await post('/v1/chat/completions', deep)

    // Assess
    await expectOpenAiError(res, [400])
  })

  it('answers 413 to a body over maxBodyBytes, with or without Content-Length', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: MAX_BODY + 1, max: MAX_BODY * 3 }),
        fc.boolean(),
        async (size, chunked) => {
          // Prepare
          const text = `{"model":"${MODEL}","messages":[{"role":"user","content":"${'x'.repeat(size)}"}]}`
          const bytes = new TextEncoder().encode(text)
          const body = chunked
            ? new ReadableStream<Uint8Array>({
                start(controller) {
                  for (let i = 0; i < bytes.length; i += 1000) controller.enqueue(bytes.slice(i, i + 1000))
                  controller.close()
                },
              })
            : text

          // Act
          const res = await app.request('/v1/chat/completions', {
            method: 'POST',
            headers: bearer(KEY.open),
            body,
            ...(chunked ? { duplex: 'half' } : {}),
          } as RequestInit)

          // Assess
          await expectOpenAiError(res, [413])
        },
      ),
      { numRuns: 20 },
    )
  })

  it('answers 401 to a missing, malformed, unknown or revoked key', async () => {
    // Prepare
    const known = new Set(Object.values(KEY).filter((k) => k !== KEY.revoked))
    const authorization = fc.oneof(
      headerValue,
      headerValue.map((v) => `Bearer ${v}`),
      fc.constantFrom(
        '',
        'Bearer',
        'Bearer ',
        `Basic ${KEY.open}`,
        `Bearer ${KEY.revoked}`,
        `Bearer ${ADMIN_KEY}`,
      ),
    )

    await fc.assert(
      fc.asyncProperty(fc.option(authorization, { nil: undefined }), async (header) => {
        fc.pre(!known.has(bearerToken(header) ?? ''))
        const headers: Record<string, string> = header === undefined ? {} : { authorization: header }
        await expectOpenAiError(
          await post('/v1/chat/completions', JSON.stringify(validChat()), headers),
          [401],
        )
      }),
    )
  })

  it('answers 404 to a model that is not configured', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 256 }), async (model) => {
        fc.pre(model !== MODEL)
        const error = await expectOpenAiError(
          await post('/v1/chat/completions', JSON.stringify({ ...validChat(), model })),
          [404],
        )
        expect([error.code, error.param]).toEqual(['model_not_found', 'model'])
      }),
    )
  })

  it('answers 403 to a model the key may not use', async () => {
    const res = await post('/v1/chat/completions', JSON.stringify(validChat()), bearer(KEY.otherModel))
    const error = await expectOpenAiError(res, [403])
    expect(error.param).toBe('model')
  })

  it('answers 400 or 422 to a deadline that is not a future time', async () => {
    // Prepare: anything but whole/decimal seconds or a date the parser reads as future.
    const future = (v: string) => /^\d+(\.\d+)?$/.test(v.trim()) || Date.parse(v.trim()) > T0
    const deadline = fc.oneof(
      headerValue,
      fc.constantFrom(
        '0',
        '0.0',
        '-1',
        '1e3',
        'Infinity',
        'NaN',
        '2020-01-01T00:00:00Z',
        `1${'0'.repeat(400)}`,
      ),
      fc.date({ max: new Date(T0), noInvalidDate: true }).map((d) => d.toISOString()),
    )

    await fc.assert(
      fc.asyncProperty(deadline, async (value) => {
        fc.pre(!future(value) || /^\d{300,}$/.test(value))
        const res = await post('/v1/chat/completions', JSON.stringify(validChat()), {
          ...bearer(KEY.open),
          'x-spillway-deadline': value,
        })
        const error = await expectOpenAiError(res, [400, 422])
        expect(error.param).toBe('x-spillway-deadline')
      }),
    )
  })

  it('answers 429 with Retry-After to a key over its rate limit', async () => {
    const res = await post('/v1/chat/completions', JSON.stringify(validChat()), bearer(KEY.limited))
    const error = await expectOpenAiError(res, [429])
    expect(error.code).toBe('rate_limit_exceeded')
  })

  it('answers 429 with Retry-After on a saturated fleet, whatever the Prefer header says', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          headerValue,
          fc.constantFrom('respond-async', 'wait=10', 'wait=-1', 'respond-async, wait=abc'),
        ),
        async (prefer) => {
          const res = await busyApp.request('/v1/chat/completions', {
            method: 'POST',
            headers: { ...bearer(KEY.open), prefer },
            body: JSON.stringify(validChat()),
          })
          await expectOpenAiError(res, [429])
        },
      ),
      { numRuns: 50 },
    )
  })
})

const ROUTES: readonly [string, RegExp][] = [
  ['GET', /^\/(health|openapi\.json|v1\/models|v1\/models\/.+|admin\/backends|admin\/capacity)$/],
  ['POST', /^\/(v1\/chat\/completions|admin\/backends|admin\/backends\/[^/]+\/(heartbeat|drain|undrain))$/],
  ['DELETE', /^\/admin\/backends\/[^/]+$/],
]

/** The path Hono routes on: URL-normalised (dot segments), then percent-decoded except reserved characters. */
function routedPath(path: string): string {
  const pathname = new URL(`http://localhost${path}`).pathname
  try {
    return decodeURI(pathname)
  } catch {
    return pathname
  }
}

describe('Any other route', () => {
  it('answers 404 in the error shape to any method and path no route serves', async () => {
    const segment = fc.oneof(
      fc.constantFrom('v1', 'admin', 'backends', 'models', '..', '.', ''),
      fc.webSegment(),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
        fc.array(segment, { minLength: 1, maxLength: 5 }),
        async (method, segments) => {
          // Prepare
          const path = `/${segments.join('/')}`
          const routed = routedPath(path)
          const get = method === 'HEAD' ? 'GET' : method
          fc.pre(!ROUTES.some(([m, re]) => m === get && re.test(routed)))
          // Jobs routes belong to the overflow path and may exist by now.
          fc.pre(!routed.startsWith('/v1/jobs'))

          // Act
          const res = await app.request(path, { method, headers: bearer(KEY.open) })

          // Assess
          if (method === 'HEAD') expect(res.status).toBe(404)
          else await expectOpenAiError(res, [404])
        },
      ),
    )
  })
})

describe('Admin routes with malformed input', () => {
  const adminRoutes: readonly [string, string][] = [
    ['POST', '/admin/backends'],
    ['GET', '/admin/backends'],
    ['GET', '/admin/capacity'],
    ['GET', '/admin/queues'],
    ['POST', '/admin/backends/h20-1/heartbeat'],
    ['POST', '/admin/backends/h20-1/drain'],
    ['POST', '/admin/backends/h20-1/undrain'],
    ['DELETE', '/admin/backends/h20-1'],
  ]
  const validRegistration = () => ({
    id: 'gpu-9',
    url: 'http://10.0.0.9:8000',
    hardware: 'h20',
    models: [MODEL],
    maxConcurrency: 4,
  })
  const admin = (method: string, path: string, body?: string, key = ADMIN_KEY) =>
    app.request(path, { method, headers: bearer(key), ...(body === undefined ? {} : { body }) })

  it('answers 401 to any key but the right one', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...adminRoutes),
        fc.option(
          fc.oneof(
            headerValue.map((v) => `Bearer ${v}`),
            fc.constant(`Bearer ${KEY.open}`),
          ),
          {
            nil: undefined,
          },
        ),
        async ([method, path], authorization) => {
          const key = bearerToken(authorization)
          fc.pre(key !== ADMIN_KEY && key !== AGENT_KEY)
          const headers: Record<string, string> = authorization === undefined ? {} : { authorization }
          await expectOpenAiError(
            await app.request(path, { method, headers, body: method === 'POST' ? '{}' : null }),
            [401],
          )
        },
      ),
    )
  })

  it('keeps the agent key off the admin-only routes', async () => {
    const agentRoutes = ['POST /admin/backends', 'POST /admin/backends/h20-1/heartbeat']
    for (const [method, path] of adminRoutes.filter(([m, p]) => !agentRoutes.includes(`${m} ${p}`))) {
      await expectOpenAiError(await admin(method, path, undefined, AGENT_KEY), [401])
    }
  })

  it('answers 400 to any registration that is not valid', async () => {
    const fields = ['id', 'url', 'hardware', 'models', 'maxConcurrency'] as const
    const body = fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc
        .tuple(fc.constantFrom(...fields), fc.oneof(fc.jsonValue(), fc.constant(undefined)))
        .map(([field, value]) => JSON.stringify(withPath(validRegistration(), [field], value))),
      fc
        .constantFrom(
          'http://169.254.169.254',
          'http://[::ffff:a9fe:a9fe]',
          'file:///etc/passwd',
          'http://u:p@h',
          'http://metadata.alias.test:8000',
          'https://ec2v6.alias.test',
        )
        .map((url) => JSON.stringify({ ...validRegistration(), url })),
      fc.constant(JSON.stringify({ ...validRegistration(), hardware: 'tpu-v9' })),
    )
    await fc.assert(
      fc.asyncProperty(body, async (text) => {
        fc.pre(!isValidRegistration(text))
        await expectOpenAiError(await admin('POST', '/admin/backends', text), [400])
      }),
    )
  })

  it('answers 400 to any heartbeat that is not a valid load, however large or small its numbers', async () => {
    const number = fc.oneof(fc.double({ noNaN: true }), fc.constantFrom(1e200, 1e16, -1, 2))
    const body = fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.record({ running: number, waiting: number, kvCacheUsage: number }).map((v) => JSON.stringify(v)),
    )
    await fc.assert(
      fc.asyncProperty(body, async (text) => {
        let load: unknown
        try {
          load = JSON.parse(text)
        } catch {}
        const sane = (n: unknown, max: number) => typeof n === 'number' && n >= 0 && n <= max
        const l = (load ?? {}) as Record<string, unknown>
        fc.pre(
          !(
            sane(l.running, 1e6) &&
            sane(l.waiting, 1e6) &&
            (l.kvCacheUsage === undefined || sane(l.kvCacheUsage, 1))
          ),
        )
        await expectOpenAiError(await admin('POST', '/admin/backends/h20-1/heartbeat', text), [400])
      }),
    )
  })

  it('stores a tiny or fractional load without a 5xx', async () => {
    const res = await admin(
      'POST',
      '/admin/backends/h20-1/heartbeat',
      JSON.stringify({ running: 1e-200, waiting: 0.5, kvCacheUsage: 5e-324 }),
    )
    expect(res.status).toBe(200)
  })

  it('answers 404 to a backend id that is unknown or that no backend could have', async () => {
    const id = fc.oneof(
      fc.webSegment(),
      fc.string({ minLength: 2049, maxLength: 3000, unit: fc.constant('x') }),
    )
    await fc.assert(
      fc.asyncProperty(
        id,
        fc.constantFrom('heartbeat', 'drain', 'undrain', 'delete'),
        async (backendId, action) => {
          fc.pre(backendId !== '' && routedPath(`/${backendId}`) !== '/h20-1' && !backendId.includes('/'))
          const load = JSON.stringify({ running: 0, waiting: 0 })
          const res =
            action === 'delete'
              ? await admin('DELETE', `/admin/backends/${backendId}`)
              : await admin(
                  'POST',
                  `/admin/backends/${backendId}/${action}`,
                  action === 'heartbeat' ? load : undefined,
                )
          await expectOpenAiError(res, [404])
        },
      ),
    )
  })
})
