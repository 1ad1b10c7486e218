import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ConfigError, DEFAULT_CONFIG, parseGatewayConfig } from '../../shared/config/gateway-config.ts'
import type { JobStore } from '../../shared/jobs/job-store.ts'
import { readRuntimeEnv } from '../../shared/runtime/runtime-env.ts'
import { ADMIN_KEY, AGENT_KEY, MODEL, memoryGateway } from '../support/memory-gateway.ts'

/**
 * Fuzzing every public and admin route (item 3 of issue 12), on top of the
 * field-by-field cases in malformed-input.test.ts: whatever the method, key,
 * path parameter, query, headers and body, the answer is a 2xx or an
 * OpenAI-shaped 4xx, never a 5xx, and never names internals (a stack frame,
 * a backend URL, an AWS error or resource). Then bodies that arrive slowly or
 * break, and the config loader. Memory adapters; runs are kept small so the
 * suite stays in seconds.
 */
const TENANT_KEY = 'sk-test-fuzz'
const BACKEND_URL = 'http://127.0.0.1:9'

/** A job store with no jobs: every lookup misses, as for an unknown or foreign id. */
const emptyJobs = new Proxy({} as JobStore, {
  get: (_target, name) =>
    name === 'countOpen' ? async () => ({ count: 0, capped: false }) : async () => undefined,
})

async function fuzzGateway() {
  return memoryGateway({
    tenants: [{ key: TENANT_KEY, policy: { id: 'fuzz', mayDegrade: true } }],
    config: { maxBodyBytes: 64 * 1024 },
    deps: {
      jobs: emptyJobs,
      queueDepth: { read: async () => [] },
    },
  })
}

const ROUTES = [
  ['POST', '/v1/chat/completions'],
  ['GET', '/v1/models'],
  ['GET', '/v1/jobs/{id}'],
  ['DELETE', '/v1/jobs/{id}'],
  ['GET', '/health'],
  ['GET', '/openapi.json'],
  ['POST', '/admin/backends'],
  ['GET', '/admin/backends'],
  ['POST', '/admin/backends/{id}/heartbeat'],
  ['POST', '/admin/backends/{id}/drain'],
  ['POST', '/admin/backends/{id}/undrain'],
  ['DELETE', '/admin/backends/{id}'],
  ['GET', '/admin/capacity'],
  ['GET', '/admin/queues'],
] as const

/** What an answer must never contain: stack frames, source paths, AWS error names and resources. */
const INTERNALS = [
  /\bat [\w.<>]+ \(/,
  /\.ts:\d+/,
  /node_modules/,
  /ValidationException|ConditionalCheckFailed|ResourceNotFound|ProvisionedThroughput|ThrottlingException/,
  /arn:aws/,
  /amazonaws\.com/,
  /TypeError|RangeError|SyntaxError|ReferenceError/,
]

const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '../../etc/passwd',
    '%00',
    '%2e%2e%2f',
    '{{7*7}}',
    "' OR 1=1 --",
    '<script>',
    '\u202e',
    'h20-1',
  ),
  fc.string({ minLength: 3000, maxLength: 5000 }),
)
/** Header values a client can actually send (no NUL, CR or LF; fetch refuses those itself). */
const headerValue = fc.string({ unit: 'binary-ascii', maxLength: 80 }).filter((v) => !/[\0\r\n]/.test(v))
const key = fc.constantFrom(TENANT_KEY, ADMIN_KEY, AGENT_KEY, 'sk-nobody', '')

/** JSON a client might send: valid-looking requests with hostile values, arbitrary JSON, deep nesting, junk. */
const body = fc.oneof(
  fc.record(
    {
      model: fc.oneof(fc.constant(MODEL), hostileString),
      messages: fc.oneof(fc.constant([{ role: 'user', content: 'hi' }]), fc.jsonValue({ maxDepth: 3 })),
      stream: fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 1 })),
      max_tokens: fc.oneof(fc.integer(), fc.double(), fc.string()),
      priority: fc.integer(),
    },
    { requiredKeys: [] },
  ),
  fc.record(
    {
      id: hostileString,
      url: fc.oneof(fc.webUrl(), hostileString, fc.constant('http://169.254.169.254/')),
      hardware: fc.oneof(fc.constant('h20'), hostileString),
      models: fc.array(hostileString, { maxLength: 3 }),
      maxConcurrency: fc.oneof(fc.integer(), fc.double()),
      running: fc.oneof(fc.double(), fc.integer()),
      waiting: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue({ maxDepth: 4 }),
  fc.integer({ min: 60, max: 5000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => new TextDecoder().decode(bytes)),
)

async function expectSafeAnswer(res: Response, options: { mayListUrls: boolean }) {
  expect(res.status).toBeLessThan(500)
  const text = await res.text()
  for (const pattern of INTERNALS) expect(text).not.toMatch(pattern)
  if (!options.mayListUrls) expect(text).not.toContain(BACKEND_URL)
  if (res.status >= 400) {
    const parsed = JSON.parse(text) as { error: Record<string, unknown> }
    expect(Object.keys(parsed.error).sort()).toEqual(['code', 'message', 'param', 'type'])
    expect(typeof parsed.error.message === 'string' && parsed.error.message.length > 0).toBe(true)
  }
}

describe('every route under hostile input', () => {
  it('answers a 2xx or an OpenAI-shaped 4xx, and never names internals', async () => {
    const { app } = await fuzzGateway()
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        key,
        hostileString,
        fc.option(headerValue, { nil: undefined }),
        fc.record(
          {
            prefer: headerValue,
            'idempotency-key': headerValue,
            'x-spillway-deadline': headerValue,
            'x-spillway-webhook': headerValue,
            'content-type': headerValue,
            'x-request-id': headerValue,
          },
          { requiredKeys: [] },
        ),
        body,
        async ([method, template], bearer, param, wait, headers, payload) => {
          const path = template.replace('{id}', encodeURIComponent(param))
          const query = wait === undefined ? '' : `?wait=${encodeURIComponent(wait)}`
          const res = await app.request(`${path}${query}`, {
            method,
            headers: { ...headers, authorization: `Bearer ${bearer}` },
            ...(method === 'POST'
              ? { body: typeof payload === 'string' ? payload : JSON.stringify(payload) }
              : {}),
          })
          // Admin answers describe backends, URL included, to the admin and agent keys only.
          await expectSafeAnswer(res, { mayListUrls: template.startsWith('/admin/') })
        },
      ),
      { numRuns: 250 },
    )
  })

  it('answers 503 dns_unavailable, not a pass, when a registration cannot be resolved in time', async () => {
    const { app } = await memoryGateway({
      deps: {
        resolveHost: () => new Promise((resolve) => setTimeout(() => resolve(['169.254.169.254']), 3_000)),
      },
    })
    const res = await app.request('/admin/backends', {
      method: 'POST',
      headers: { authorization: `Bearer ${AGENT_KEY}` },
      body: JSON.stringify({
        id: 'h20-9',
        url: 'http://gpu.slow-dns.test:8000',
        hardware: 'h20',
        models: [MODEL],
        maxConcurrency: 2,
      }),
    })
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('5')
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('dns_unavailable')
  }, 10_000)
})

/** A request body delivered in pieces with pauses, or cut off with an error half way. */
function trickle(text: string, options: { pieceBytes: number; pauseMs: number; breakAfter?: number }) {
  const bytes = new TextEncoder().encode(text)
  let offset = 0
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs))
      if (options.breakAfter !== undefined && offset >= options.breakAfter) {
        controller.error(new Error('connection reset by peer'))
        return
      }
      if (offset >= bytes.length) return controller.close()
      controller.enqueue(bytes.subarray(offset, offset + options.pieceBytes))
      offset += options.pieceBytes
    },
  })
}

describe('slow and broken request bodies', () => {
  const valid = JSON.stringify({
    model: MODEL,
    messages: [{ role: 'user', content: 'hi there' }],
    max_tokens: 4,
  })
  const post = async (
    app: Awaited<ReturnType<typeof fuzzGateway>>['app'],
    stream: ReadableStream<Uint8Array>,
  ) =>
    await app.request('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${TENANT_KEY}`, 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit)

  it('serves a valid body that arrives a few bytes at a time', async () => {
    const { app, reached } = await fuzzGateway()
    const res = await post(app, trickle(valid, { pieceBytes: 7, pauseMs: 2 }))
    expect(res.status).toBe(200)
    expect(reached).toHaveLength(1)
  })

  it('answers 400 to an invalid body that arrives slowly, and 413 to one that grows past the limit', async () => {
    const { app } = await fuzzGateway()
    await expectSafeAnswer(await post(app, trickle('{"model": 12', { pieceBytes: 3, pauseMs: 2 })), {
      mayListUrls: false,
    })
    const huge = await post(app, trickle(`"${'x'.repeat(70 * 1024)}"`, { pieceBytes: 16 * 1024, pauseMs: 1 }))
    expect(huge.status).toBe(413)
    await expectSafeAnswer(huge, { mayListUrls: false })
  })

  it('answers a 4xx, never a 5xx, to a body that breaks off half way', async () => {
    const { app, reached } = await fuzzGateway()
    const res = await post(app, trickle(valid, { pieceBytes: 10, pauseMs: 1, breakAfter: 20 }))
    await expectSafeAnswer(res, { mayListUrls: false })
    expect(res.status).toBeGreaterThanOrEqual(400)
    expect(reached).toEqual([])
  })
})

describe('the config loader under hostile input', () => {
  const configLike = fc.oneof(
    fc.anything({ maxDepth: 4 }),
    fc.record(
      {
        hardwareClasses: fc.oneof(fc.anything({ maxDepth: 3 }), fc.constant(DEFAULT_CONFIG.hardwareClasses)),
        models: fc.oneof(fc.anything({ maxDepth: 4 }), fc.constant(DEFAULT_CONFIG.models)),
        leaseTtlSeconds: fc.anything({ maxDepth: 1 }),
        upstream: fc.anything({ maxDepth: 2 }),
        circuit: fc.anything({ maxDepth: 2 }),
      },
      { requiredKeys: [] },
    ),
    fc.integer({ min: 1000, max: 20_000 }).map((depth) => {
      let nested: unknown = {}
      for (let i = 0; i < depth; i++) nested = { models: [nested] }
      return nested
    }),
  )

  it('returns a frozen config or throws one ConfigError, for any value', () => {
    fc.assert(
      fc.property(configLike, (input) => {
        try {
          const config = parseGatewayConfig(input)
          expect(Object.isFrozen(config)).toBe(true)
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError)
          expect((error as Error).message).toMatch(/^Invalid Spillway config:\n {2}- /)
        }
      }),
      { numRuns: 300 },
    )
  })

  it('reads SPILLWAY_CONFIG of any text into a config or a ConfigError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
        ),
        (text) => {
          try {
            readRuntimeEnv(minimalEnv(text))
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigError)
          }
        },
      ),
      { numRuns: 200 },
    )
  })
})

function minimalEnv(config: string): Record<string, string> {
  const names = [
    'SPILLWAY_TABLE_BACKENDS',
    'SPILLWAY_TABLE_JOBS',
    'SPILLWAY_TABLE_TENANTS',
    'SPILLWAY_QUEUE_INTERACTIVE_URL',
    'SPILLWAY_QUEUE_BATCH_URL',
  ]
  return { ...Object.fromEntries(names.map((name) => [name, 'x'])), SPILLWAY_CONFIG: config }
}
