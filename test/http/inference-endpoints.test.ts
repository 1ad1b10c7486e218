import { describe, expect, it } from 'vitest'
import type { ApiKind } from '../../shared/backends/backend-apis.ts'
import type { BackendCallOptions, BackendClient } from '../../shared/backends/backend-client.ts'
import { MODEL, memoryGateway, postJson, T0 } from '../support/memory-gateway.ts'

/**
 * HTTP contract of `/v1/completions`, `/v1/embeddings` and `/v1/responses`
 * through `createApp(deps).request` on memory adapters: OpenAI-style 400s for
 * bad input, the model-kind check, and routing by API (a tier whose backends
 * lack the API falls back to one that has it). The queued paths (202, hold) run
 * against the emulators in test/gateway/inference-apis-queued.test.ts.
 */
const KEY = 'sk-test-contract'
const EMBEDDING_MODEL = 'bge-small-en-v1.5'

const ANSWERS: Record<ApiKind, (model: unknown) => Record<string, unknown>> = {
  chat: (model) => ({ id: 'chatcmpl-1', object: 'chat.completion', model, choices: [] }),
  completions: (model) => ({
    id: 'cmpl-1',
    object: 'text_completion',
    model,
    choices: [{ index: 0, text: 'hi', finish_reason: 'stop' }],
  }),
  embeddings: (model) => ({
    object: 'list',
    model,
    data: [{ object: 'embedding', index: 0, embedding: [0.6, 0.8] }],
  }),
  responses: (model) => ({
    id: 'resp_1',
    object: 'response',
    model,
    status: 'completed',
    output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'hi' }] }],
  }),
}

async function gateway() {
  const reached: (BackendCallOptions & { api: ApiKind })[] = []
  const backendClient: BackendClient = {
    async chatCompletions(call) {
      reached.push({ ...call, api: 'chat' })
      return Response.json(ANSWERS.chat(call.body.model))
    },
    async callApi(call) {
      reached.push(call)
      return Response.json(ANSWERS[call.api](call.body.model))
    },
  }
  const gw = await memoryGateway({
    tenants: [{ key: KEY, policy: { id: 'contract', mayDegrade: true } }],
    deps: { backendClient },
  })
  // h20-1 (from memoryGateway) lists no APIs: chat and completions, as an older agent's registration.
  await gw.store.register({
    registration: {
      id: 'cpu-1',
      url: 'http://127.0.0.1:9/cpu',
      hardware: 'cpu',
      models: ['deepseek-r1-distill-qwen-1.5b-q4', EMBEDDING_MODEL],
      maxConcurrency: 2,
      apis: ['chat', 'completions', 'responses', 'embeddings'],
    },
    now: T0,
  })
  return { ...gw, reached }
}

async function errorOf(res: Response) {
  const body = (await res.json()) as {
    error: { message: string; type: string; param: unknown; code: unknown }
  }
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type'])
  return { status: res.status, ...body.error }
}

describe('POST /v1/completions, /v1/embeddings, /v1/responses', () => {
  it.each([
    ['/v1/completions', { model: MODEL }, 'prompt'],
    ['/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 0 }, 'max_tokens'],
    ['/v1/completions', { model: MODEL, prompt: [[-1]] }, 'prompt'],
    ['/v1/embeddings', { model: EMBEDDING_MODEL }, 'input'],
    ['/v1/embeddings', { model: EMBEDDING_MODEL, input: [] }, 'input'],
    ['/v1/embeddings', { model: EMBEDDING_MODEL, input: 'x', stream: true }, 'stream'],
    ['/v1/embeddings', { model: EMBEDDING_MODEL, input: 'x', encoding_format: 'int8' }, 'encoding_format'],
    ['/v1/responses', { model: MODEL }, 'input'],
    ['/v1/responses', { model: MODEL, input: 'x', previous_response_id: 'resp_1' }, 'previous_response_id'],
    ['/v1/responses', { model: MODEL, input: 'x', temperature: 3 }, 'temperature'],
  ])('%s refuses %j with a 400 naming %s', async (path, body, param) => {
    const { app, reached } = await gateway()
    const error = await errorOf(await postJson(app, path, KEY, body))
    expect(error).toMatchObject({ status: 400, type: 'invalid_request_error' })
    // A union's issue may point inside the field (`prompt.0.0`).
    expect(String(error.param)).toMatch(new RegExp(`^${param}\\b`))
    expect(reached).toEqual([])
  })

  it.each(['/v1/completions', '/v1/embeddings', '/v1/responses'])(
    '%s refuses invalid JSON with a 400',
    async (path) => {
      const { app } = await gateway()
      const res = await app.request(path, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: '{"model":',
      })
      expect(await errorOf(res)).toMatchObject({ status: 400, code: 'invalid_json' })
    },
  )

  it('answers 404 model_not_found for a model no configuration serves', async () => {
    const { app } = await gateway()
    const res = await postJson(app, '/v1/embeddings', KEY, { model: 'nope', input: 'x' })
    expect(await errorOf(res)).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' })
  })

  it('refuses an embedding model on a generation API, and a generation model on embeddings', async () => {
    const { app, reached } = await gateway()
    for (const [path, body] of [
      ['/v1/completions', { model: EMBEDDING_MODEL, prompt: 'x' }],
      ['/v1/responses', { model: EMBEDDING_MODEL, input: 'x' }],
      ['/v1/embeddings', { model: MODEL, input: 'x' }],
    ] as const) {
      const error = await errorOf(await postJson(app, path, KEY, body))
      expect(error).toMatchObject({ status: 400, code: 'model_not_supported', param: 'model' })
    }
    expect(reached).toEqual([])
  })

  it('serves completions on the GPU tier, on the backend route of the API', async () => {
    const { app, reached } = await gateway()
    const res = await postJson(app, '/v1/completions', KEY, { model: MODEL, prompt: 'x' })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-spillway-route')).toBe('primary')
    expect(res.headers.get('x-spillway-backend')).toBe('h20-1')
    expect(await res.json()).toMatchObject({ object: 'text_completion' })
    expect(reached.map((call) => [call.api, call.backend.id])).toEqual([['completions', 'h20-1']])
  })

  it('falls back to the CPU tier for responses when the GPU backends do not serve the API', async () => {
    const { app, reached } = await gateway()
    const res = await postJson(app, '/v1/responses', KEY, { model: MODEL, input: 'x' })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-spillway-route')).toBe('fallback')
    expect(res.headers.get('x-spillway-hardware')).toBe('cpu')
    expect(await res.json()).toMatchObject({ object: 'response', model: 'deepseek-r1-distill-qwen-1.5b-q4' })
    expect(reached.map((call) => [call.api, call.backend.id])).toEqual([['responses', 'cpu-1']])
  })

  it('routes embeddings to the embedding model’s own tier, on a backend that serves the API', async () => {
    const { app, reached } = await gateway()
    const res = await postJson(app, '/v1/embeddings', KEY, { model: EMBEDDING_MODEL, input: ['a'] })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-spillway-route')).toBe('primary')
    expect(res.headers.get('x-spillway-backend')).toBe('cpu-1')
    expect(await res.json()).toMatchObject({ object: 'list', data: [{ embedding: [0.6, 0.8] }] })
    // Embeddings never stream: the backend gets the body as the client sent it.
    expect(reached[0]?.body).toEqual({ model: EMBEDDING_MODEL, input: ['a'] })
  })

  it('answers 503 to a tenant that may neither degrade nor queue when no allowed backend serves the API', async () => {
    // Responses are served only on the CPU tier here, which this tenant may not use.
    const strict = 'sk-test-strict-contract'
    const gw = await memoryGateway({
      tenants: [{ key: strict, policy: { id: 'strict', mayDegrade: false } }],
    })
    const res = await postJson(gw.app, '/v1/responses', strict, { model: MODEL, input: 'x' })
    expect(await errorOf(res)).toMatchObject({ status: 503 })
  })
})
