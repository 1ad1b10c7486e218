import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda'
import OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import { functionUrlStreamHandler } from '../../functions/gateway/function-url-stream.ts'
import type { BackendClient } from '../../shared/backends/backend-client.ts'
import type { BackendRecord } from '../../shared/backends/backend-record.ts'
import type {
  AcquireOptions,
  AcquireResult,
  CapacityStore,
  LeaseRef,
  TransferOptions,
} from '../../shared/capacity/capacity-store.ts'
import type { MemoryBackendStore } from '../../shared/capacity/memory-backend-store.ts'
import type { AppLogger, LogFields } from '../../shared/logging.ts'
import { Observability } from '../../shared/observability/observability.ts'
import type { RequestFacts } from '../../shared/observability/request-facts.ts'
import { captureResponse, installLambdaStreamingGlobals } from '../support/lambda-runtime.ts'
import { MODEL, memoryGateway, postJson, T0 } from '../support/memory-gateway.ts'

/**
 * A non-streaming answer reaches the client before its lease is released: the
 * body is the whole JSON, then the release, then the end (shared/proxy/
 * answer-then-release.ts). Through `createApp(deps).request` on memory adapters,
 * whose capacity store holds every release until the test lets it go, once over
 * real HTTP with the openai SDK, and once through the Lambda Function URL handler,
 * where the release must finish before the response stream ends.
 */
const KEY = 'sk-test-release-after-answer'

/** The memory store, with each release waiting on a gate the test opens (or fails). */
class GatedReleases implements CapacityStore {
  readonly releases: LeaseRef[] = []
  readonly #inner: MemoryBackendStore
  #open = deferred()
  #started = deferred()
  #failure: Error | undefined

  constructor(inner: MemoryBackendStore) {
    this.#inner = inner
  }

  /** Resolves once a release has been asked for. */
  get releaseStarted(): Promise<void> {
    return this.#started.promise
  }

  open(): void {
    this.#open.resolve()
  }

  fail(error: Error): void {
    this.#failure = error
    this.#open.resolve()
  }

  async release(lease: LeaseRef): Promise<BackendRecord | undefined> {
    this.releases.push(lease)
    this.#started.resolve()
    await this.#open.promise
    if (this.#failure) throw this.#failure
    return this.#inner.release(lease)
  }

  snapshot(): Promise<BackendRecord[]> {
    return this.#inner.snapshot()
  }
  read(backendIds: readonly string[]): Promise<BackendRecord[]> {
    return this.#inner.read(backendIds)
  }
  acquire(options: AcquireOptions): Promise<AcquireResult> {
    return this.#inner.acquire(options)
  }
  renew(lease: LeaseRef & { readonly expiresAt: number }): Promise<boolean> {
    return this.#inner.renew(lease)
  }
  transfer(options: TransferOptions): Promise<BackendRecord | undefined> {
    return this.#inner.transfer(options)
  }
  openCircuit(options: { backendId: string; until: number }): Promise<BackendRecord | undefined> {
    return this.#inner.openCircuit(options)
  }
  purgeRemoved(backendId: string): Promise<boolean> {
    return this.#inner.purgeRemoved(backendId)
  }
  reclaimExpired(options: { backendId: string; leaseIds: readonly string[]; now: number }): Promise<number> {
    return this.#inner.reclaimExpired(options)
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => {}
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** `promise`, or a rejection naming what did not happen within `ms`: a failure, not a hung test. */
function within<T>(promise: Promise<T>, what: string, ms = 1_000): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms),
    ),
  ])
}

/** Whether `promise` is still pending after the event loop has had a few turns. */
async function stillPending(promise: Promise<unknown>): Promise<boolean> {
  const pending = Symbol('pending')
  const winner = await Promise.race([promise, new Promise((r) => setTimeout(() => r(pending), 50))])
  return winner === pending
}

async function gatedGateway(options: { backendClient?: BackendClient } = {}) {
  const warnings: { message: string; fields: LogFields }[] = []
  const log: AppLogger = {
    debug() {},
    info() {},
    warn: (message, ...extra) => warnings.push({ message, fields: Object.assign({}, ...extra) }),
    error() {},
  }
  const recorded: RequestFacts[] = []
  const observability = new Observability({
    clock: () => T0,
    sinks: [{ recordRequest: (facts) => void recorded.push(facts) }],
  })
  let capacity: GatedReleases | undefined
  const gw = await memoryGateway({
    tenants: [{ key: KEY, policy: { id: 'release-after-answer', mayDegrade: true } }],
    deps: { log, observability, ...(options.backendClient ? { backendClient: options.backendClient } : {}) },
    wrapCapacity: (store) => {
      capacity = new GatedReleases(store)
      return capacity
    },
  })
  if (!capacity) throw new Error('memoryGateway did not use the wrapped store')
  const leases = async () => (await gw.store.snapshot()).reduce((n, b) => n + Object.keys(b.leases).length, 0)
  return { ...gw, capacity, warnings, recorded, leases }
}

const chat = { model: MODEL, messages: [{ role: 'user', content: 'hi' }] }
const decoder = new TextDecoder()

describe('a non-streaming answer through createApp(deps).request', () => {
  it('is whole, with its content-length, while the release is still pending; the body ends after it', async () => {
    // Prepare
    const gw = await gatedGateway()

    // Act
    const res = await within(postJson(gw.app, '/v1/chat/completions', KEY, chat), 'the response')
    const reader = res.body!.getReader()
    const first = await within(reader.read(), 'the first chunk')
    await within(gw.capacity.releaseStarted, 'the release')
    const end = reader.read()

    // Assess: every byte is readable before the release finishes…
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    const text = decoder.decode(first.value)
    expect(Number(res.headers.get('content-length'))).toBe(first.value?.byteLength)
    expect(JSON.parse(text)).toMatchObject({ id: 'chatcmpl-1', object: 'chat.completion' })
    expect(await stillPending(end)).toBe(true)
    expect(await gw.leases()).toBe(1)
    // …and the body ends only once it has.
    gw.capacity.open()
    expect((await within(end, 'the end')).done).toBe(true)
    expect(await gw.leases()).toBe(0)
    expect(gw.capacity.releases).toHaveLength(1)
  })

  it.each([
    ['/v1/completions', { model: MODEL, prompt: 'x' }, 'text_completion'],
    ['/v1/embeddings', { model: 'bge-small-en-v1.5', input: 'x' }, 'list'],
    ['/v1/responses', { model: MODEL, input: 'x' }, 'response'],
  ])('%s answers the same way: whole before the release, ended after it', async (path, body, object) => {
    // Prepare: a CPU backend that serves every API (responses fall back to it).
    const gw = await gatedGateway({
      backendClient: {
        chatCompletions: async () => Response.json({}),
        callApi: async (call) =>
          Response.json({
            object: {
              completions: 'text_completion',
              embeddings: 'list',
              responses: 'response',
              chat: 'chat.completion',
            }[call.api],
            model: call.body.model,
            choices: [],
            data: [],
            output: [],
            status: 'completed',
          }),
      },
    })
    await gw.store.register({
      registration: {
        id: 'cpu-1',
        url: 'http://127.0.0.1:9/cpu',
        hardware: 'cpu',
        models: ['deepseek-r1-distill-qwen-1.5b-q4', 'bge-small-en-v1.5'],
        maxConcurrency: 2,
        apis: ['chat', 'completions', 'responses', 'embeddings'],
      },
      now: T0,
    })

    // Act
    const res = await within(postJson(gw.app, path, KEY, body), 'the response')
    const reader = res.body!.getReader()
    const first = await within(reader.read(), 'the first chunk')
    await within(gw.capacity.releaseStarted, 'the release')
    const end = reader.read()

    // Assess
    expect(res.status).toBe(200)
    expect(Number(res.headers.get('content-length'))).toBe(first.value?.byteLength)
    expect(JSON.parse(decoder.decode(first.value))).toMatchObject({ object })
    expect(await stillPending(end)).toBe(true)
    gw.capacity.open()
    expect((await within(end, 'the end')).done).toBe(true)
    expect(gw.capacity.releases).toHaveLength(1)
  })

  it('is recorded once, with its status, by the request metrics', async () => {
    // Prepare
    const gw = await gatedGateway()

    // Act
    const res = await within(postJson(gw.app, '/v1/chat/completions', KEY, chat), 'the response')
    const whileReleasing = [...gw.recorded]
    gw.capacity.open()
    await res.text()

    // Assess: recorded when the answer was whole, not again when the body ended.
    expect(whileReleasing).toEqual([
      expect.objectContaining({ status: 200, path: '/v1/chat/completions', backend: 'h20-1' }),
    ])
    expect(gw.recorded).toEqual(whileReleasing)
  })

  it('still releases the lease, once, when the client leaves after the JSON', async () => {
    // Prepare
    const gw = await gatedGateway()
    const res = await within(postJson(gw.app, '/v1/chat/completions', KEY, chat), 'the response')
    const reader = res.body!.getReader()
    await reader.read()

    // Act
    const cancelled = reader.cancel(new Error('client gone'))
    gw.capacity.open()
    await within(cancelled, 'the cancel')

    // Assess
    expect(gw.capacity.releases).toHaveLength(1)
    expect(await gw.leases()).toBe(0)
  })

  it('still releases the lease, once, when the client leaves before reading a byte', async () => {
    // Prepare
    const gw = await gatedGateway()
    const res = await within(postJson(gw.app, '/v1/chat/completions', KEY, chat), 'the response')

    // Act
    const cancelled = res.body!.cancel(new Error('client gone'))
    gw.capacity.open()
    await within(cancelled, 'the cancel')

    // Assess
    expect(gw.capacity.releases).toHaveLength(1)
    expect(await gw.leases()).toBe(0)
  })

  it('keeps the body whole and logs when the release fails; the lease is left to expire', async () => {
    // Prepare
    const gw = await gatedGateway()
    gw.capacity.fail(new Error('ProvisionedThroughputExceeded'))

    // Act
    const res = await within(postJson(gw.app, '/v1/chat/completions', KEY, chat), 'the response')
    const text = await within(res.text(), 'the body')

    // Assess
    expect(res.status).toBe(200)
    expect(JSON.parse(text)).toMatchObject({ id: 'chatcmpl-1', object: 'chat.completion' })
    expect(Buffer.byteLength(text)).toBe(Number(res.headers.get('content-length')))
    expect(gw.capacity.releases).toHaveLength(1)
    expect(gw.warnings).toEqual([
      expect.objectContaining({
        fields: expect.objectContaining({ error: 'ProvisionedThroughputExceeded' }),
      }),
    ])
    expect(await gw.leases()).toBe(1)
    expect(gw.recorded).toEqual([expect.objectContaining({ status: 200 })])
  })

  it('answers a backend 4xx the same way: the error first, then the release', async () => {
    // Prepare
    const gw = await gatedGateway({
      backendClient: {
        chatCompletions: async () =>
          Response.json({ error: { message: 'maximum context length is 8192 tokens' } }, { status: 400 }),
      },
    })

    // Act
    const res = await within(postJson(gw.app, '/v1/chat/completions', KEY, chat), 'the response')
    const reader = res.body!.getReader()
    const first = await within(reader.read(), 'the first chunk')
    await within(gw.capacity.releaseStarted, 'the release')
    const end = reader.read()

    // Assess
    expect(res.status).toBe(400)
    expect(JSON.parse(decoder.decode(first.value))).toMatchObject({ error: { code: 'invalid_request' } })
    expect(await stillPending(end)).toBe(true)
    gw.capacity.open()
    expect((await within(end, 'the end')).done).toBe(true)
    expect(gw.capacity.releases).toHaveLength(1)
  })

  it('still releases the lease, once, when the client leaves while the backend answers', async () => {
    // Prepare: a backend that answers only when its call is aborted.
    const gw = await gatedGateway({
      backendClient: {
        chatCompletions: (call) =>
          new Promise((_, reject) => call.signal.addEventListener('abort', () => reject(call.signal.reason))),
      },
    })
    gw.capacity.open()
    const client = new AbortController()

    // Act
    const answered = Promise.resolve(
      gw.app.request('/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(chat),
        signal: client.signal,
      }),
    )
    await new Promise((resolve) => setTimeout(resolve, 20))
    client.abort()
    await within(answered, 'the answer').catch(() => undefined)

    // Assess
    expect(gw.capacity.releases).toHaveLength(1)
    expect(await gw.leases()).toBe(0)
  })
})

describe('a non-streaming answer over real HTTP (Node server, openai SDK)', () => {
  let server: Server | undefined
  afterEach(async () => {
    server?.closeAllConnections()
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined))
    server = undefined
  })

  it('reaches the SDK while the release is pending; the server ends the response after it', async () => {
    // Prepare
    const gw = await gatedGateway()
    server = createAdaptorServer({ fetch: gw.app.fetch }) as Server
    const finished = deferred()
    server.on('request', (_req, res) => res.once('finish', () => finished.resolve()))
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: KEY, maxRetries: 0 })

    // Act
    const { data, response } = await within(
      client.chat.completions
        .create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] })
        .withResponse(),
      'the completion',
    )

    // Assess
    expect(data.object).toBe('chat.completion')
    expect(Number(response.headers.get('content-length'))).toBeGreaterThan(0)
    await within(gw.capacity.releaseStarted, 'the release')
    expect(await stillPending(finished.promise)).toBe(true)
    expect(await gw.leases()).toBe(1)
    gw.capacity.open()
    await within(finished.promise, 'the end of the response')
    expect(await gw.leases()).toBe(0)
    expect(gw.capacity.releases).toHaveLength(1)
  })
})

describe('a non-streaming answer through the Lambda Function URL handler', () => {
  it('is written whole while the release is pending; the stream ends, and the invocation returns, after it', async () => {
    // Prepare
    installLambdaStreamingGlobals()
    const gw = await gatedGateway()
    const handler = functionUrlStreamHandler(gw.app) as unknown as (
      event: APIGatewayProxyEventV2,
      stream: NodeJS.WritableStream,
      context: Context,
    ) => Promise<void>
    const response = captureResponse()
    const ended = deferred()
    response.stream.once('finish', () => ended.resolve())
    const event = {
      rawPath: '/v1/chat/completions',
      headers: {
        host: 'gateway.lambda-url.on.aws',
        authorization: `Bearer ${KEY}`,
        'content-type': 'application/json',
      },
      requestContext: { http: { method: 'POST' } },
      isBase64Encoded: false,
      body: JSON.stringify(chat),
    } as unknown as APIGatewayProxyEventV2

    // Act
    const invocation = handler(event, response.stream, {} as Context)
    await within(gw.capacity.releaseStarted, 'the release')
    await new Promise((resolve) => setTimeout(resolve, 20))

    // Assess: the whole answer is out, the stream still open until the release is done.
    expect(response.metadata?.statusCode).toBe(200)
    expect(Number(response.metadata?.headers?.['content-length'])).toBe(Buffer.byteLength(response.body))
    expect(JSON.parse(response.body)).toMatchObject({ object: 'chat.completion' })
    expect(await stillPending(ended.promise)).toBe(true)
    expect(await stillPending(invocation)).toBe(true)
    gw.capacity.open()
    await within(invocation, 'the invocation')
    await within(ended.promise, 'the end of the stream')
    expect(await gw.leases()).toBe(0)
    expect(gw.capacity.releases).toHaveLength(1)
  })
})
