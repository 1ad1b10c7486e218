import { afterEach, describe, expect, it, vi } from 'vitest'
import { seedTenantKey } from '../../../local/tenants.ts'
import type { BackendClient } from '../../../shared/backends/backend-client.ts'
import { MemoryBackendStore } from '../../../shared/capacity/memory-backend-store.ts'
import { DEFAULT_CONFIG, parseGatewayConfig } from '../../../shared/config/gateway-config.ts'
import { createApp } from '../../../shared/http/app.ts'
import { type AppLogger, consoleLogger, type LogFields } from '../../../shared/logging.ts'
import { REQUEST_LOG_MESSAGE } from '../../../shared/observability/request-facts.ts'
import { hashApiKey } from '../../../shared/tenants/api-keys.ts'
import { MemoryTenantStore } from '../../../shared/tenants/memory-tenant-store.ts'

/**
 * The one structured line per request, through `createApp(deps).request` with
 * memory adapters: its fields, timings measured to the end of a stream, and
 * neither the API key nor the prompt anywhere in what is logged.
 */
const MODEL = 'deepseek-r1-distill-llama-8b'
const KEY = 'sk-test-log-tenant-key-0123456789'
const PROMPT = 'my secret prompt about the quarterly numbers'
const STREAM_TAIL_MS = 120

/** A backend answering JSON at once, or SSE whose last chunk comes after STREAM_TAIL_MS. */
const backendClient: BackendClient = {
  async chatCompletions(options) {
    if (options.body.stream !== true) {
      return Response.json({
        id: 'c1',
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: 'hi' } }],
      })
    }
    const encoder = new TextEncoder()
    const chunk = (content: string) =>
      encoder.encode(
        `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }] })}\n\n`,
      )
    return new Response(
      new ReadableStream({
        async start(controller) {
          controller.enqueue(chunk('hi'))
          await new Promise((resolve) => setTimeout(resolve, STREAM_TAIL_MS))
          controller.enqueue(chunk(' there'))
          controller.enqueue(encoder.encode('data: [DONE]\n\n'))
          controller.close()
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    )
  },
}

interface Entry {
  level: string
  message: string
  fields: LogFields
}

async function gatewayWithLog() {
  const entries: Entry[] = []
  const capture =
    (level: string) =>
    (message: string, ...extra: LogFields[]) =>
      entries.push({ level, message, fields: Object.assign({}, ...extra) })
  const log: AppLogger = {
    debug: capture('debug'),
    info: capture('info'),
    warn: capture('warn'),
    error: capture('error'),
  }
  const store = new MemoryBackendStore()
  const tenants = new MemoryTenantStore()
  const now = Date.now()
  await seedTenantKey({ tenants, policy: { id: 'acme', mayDegrade: true }, key: KEY, now })
  await store.register({
    registration: {
      id: 'h20-1',
      url: 'http://127.0.0.1:9',
      hardware: 'h20',
      models: [MODEL],
      maxConcurrency: 2,
    },
    now,
  })
  const app = createApp({
    config: parseGatewayConfig(DEFAULT_CONFIG),
    capacity: store,
    registry: store,
    tenants,
    backendClient,
    adminKeyHash: hashApiKey('sk-test-admin'),
    log,
  })
  const requestLines = () => entries.filter((e) => e.message === REQUEST_LOG_MESSAGE)
  return { app, entries, requestLines }
}

const chat = (extra: Record<string, unknown> = {}, key: string | null = KEY) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
  body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: PROMPT }], ...extra }),
})

describe('the request log line', () => {
  afterEach(() => vi.restoreAllMocks())

  it('has one line per request with id, tenant, model, route, hardware, backend, status and timings', async () => {
    const { app, requestLines } = await gatewayWithLog()
    const res = await app.request('http://localhost/v1/chat/completions', chat())
    await res.text()
    expect(requestLines()).toHaveLength(1)
    const [line] = requestLines()
    expect(line?.level).toBe('info')
    expect(line?.fields).toEqual({
      requestId: res.headers.get('x-request-id'),
      method: 'POST',
      path: '/v1/chat/completions',
      tenant: 'acme',
      model: MODEL,
      route: 'primary',
      hardware: 'h20',
      backend: 'h20-1',
      status: 200,
      durationMs: expect.any(Number),
      ttfbMs: expect.any(Number),
      queueWaitMs: null,
    })
  })

  it('measures a stream to its last byte, and the first byte apart', async () => {
    const { app, requestLines } = await gatewayWithLog()
    const res = await app.request('http://localhost/v1/chat/completions', chat({ stream: true }))
    expect(requestLines()).toHaveLength(0) // not before the body has ended
    await res.text()
    const fields = requestLines()[0]?.fields
    expect(fields?.durationMs).toBeGreaterThanOrEqual(STREAM_TAIL_MS - 5)
    expect(fields?.ttfbMs).toBeLessThan(Number(fields?.durationMs))
  })

  it('logs refused requests too, without a tenant', async () => {
    const { app, requestLines } = await gatewayWithLog()
    const res = await app.request('http://localhost/v1/chat/completions', chat({}, null))
    expect(res.status).toBe(401)
    await res.text()
    expect(requestLines()[0]?.fields).toMatchObject({
      status: 401,
      tenant: null,
      route: 'none',
      backend: 'none',
    })
  })

  it('never contains the API key or the prompt', async () => {
    const { app, entries } = await gatewayWithLog()
    for (const init of [chat(), chat({ stream: true }), chat({ model: 'nope' }), chat({}, `${KEY}-wrong`)]) {
      await (await app.request('http://localhost/v1/chat/completions', init)).text()
    }
    const logged = JSON.stringify(entries)
    expect(entries.length).toBeGreaterThanOrEqual(4)
    expect(logged).not.toContain(KEY)
    expect(logged).not.toContain(hashApiKey(KEY))
    expect(logged).not.toContain('quarterly')
  })

  it('is written by the console logger at LOG_LEVEL=info, not at warn', () => {
    const written: string[] = []
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk))
      return true
    })
    consoleLogger({ level: 'warn' }).info(REQUEST_LOG_MESSAGE, { status: 200 })
    consoleLogger({ level: 'info', service: 'local' }).info(REQUEST_LOG_MESSAGE, { status: 200 })
    expect(written).toHaveLength(1)
    expect(JSON.parse(written[0] ?? '')).toMatchObject({ level: 'info', message: 'request', status: 200 })
  })
})
