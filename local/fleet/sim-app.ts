/**
 * The HTTP surface of one simulated backend: vLLM's routes plus `/sim/*` hooks
 * for tests (state, reset, faults at run time).
 */
import { Hono, type MiddlewareHandler } from 'hono'
import type { SimEnv } from './admission.ts'
import { handleChatCompletion } from './chat-completions.ts'
import { handleCompletion } from './completions.ts'
import { handleEmbeddings } from './embeddings.ts'
import { errorResponse } from './openai-wire.ts'
import { handleResponse } from './responses.ts'
import { faultPatch, type SimEngine } from './sim-engine.ts'
import { renderSimMetrics } from './sim-metrics.ts'

const MAX_MODEL_LEN = 32_768

export interface SimAppOptions {
  /**
   * Like vLLM's `--api-key`: `/v1/*` then answers 401 `{"error":"Unauthorized"}`
   * unless the request carries `Authorization: Bearer <key>`; `/health` and
   * `/metrics` stay open, as in vLLM (the llama.cpp dialect guards `/metrics`
   * and `/props` too, as llama.cpp does).
   */
  readonly apiKey?: string | undefined
}

export function createSimApp(engine: SimEngine, options: SimAppOptions = {}): Hono<SimEnv> {
  const app = new Hono<SimEnv>()
  const startedAt = Math.floor(Date.now() / 1000)
  const { apiKey } = options
  if (apiKey) {
    const guard: MiddlewareHandler = async (c, next) => {
      if (c.req.header('authorization') !== `Bearer ${apiKey}`) return c.json({ error: 'Unauthorized' }, 401)
      await next()
    }
    app.use('/v1/*', guard)
    // llama.cpp's --api-key guards everything but /health (and the model list); vLLM leaves /metrics open.
    if (engine.engine === 'llamacpp') {
      app.use('/metrics', guard)
      app.use('/props', guard)
    }
  }

  app.get('/health', () => healthResponse(engine))

  // llama.cpp says how many sequences it runs at once (`--parallel`) here; the agent reads `total_slots`.
  if (engine.engine === 'llamacpp') {
    app.get('/props', (c) =>
      c.json({
        default_generation_settings: { id: 0, id_task: -1, n_ctx: MAX_MODEL_LEN, is_processing: false },
        total_slots: engine.scheduler.maxNumSeqs,
        model_path: engine.models[0] ?? '',
        modalities: { vision: false },
        is_sleeping: false,
      }),
    )
  }
  if (engine.engine === 'tgi') {
    app.get('/info', (c) =>
      c.json({
        model_id: engine.models[0] ?? '',
        max_concurrent_requests: engine.scheduler.maxNumSeqs + engine.scheduler.maxWaiting,
        max_total_tokens: MAX_MODEL_LEN,
        router: 'text-generation-router',
      }),
    )
  }

  app.get('/v1/models', (c) =>
    c.json({
      object: 'list',
      data: engine.models.map((id) => ({
        id,
        object: 'model',
        created: startedAt,
        owned_by: engine.engine,
        root: id,
        parent: null,
        max_model_len: MAX_MODEL_LEN,
      })),
    }),
  )

  app.post('/v1/chat/completions', (c) => handleChatCompletion(engine, c))
  app.post('/v1/completions', (c) => handleCompletion(engine, c))
  app.post('/v1/responses', (c) => handleResponse(engine, c))
  app.post('/v1/embeddings', (c) => handleEmbeddings(engine, c))

  app.get('/metrics', (c) =>
    c.body(renderSimMetrics(engine), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }),
  )

  app.get('/sim/state', (c) => c.json(engine.snapshot()))

  app.post('/sim/reset', (c) => {
    engine.reset()
    return c.json(engine.snapshot())
  })

  app.post('/sim/faults', async (c) => {
    const patch = faultPatch.safeParse(await c.req.json().catch(() => undefined))
    if (!patch.success) return errorResponse(400, `invalid faults: ${patch.error.message}`)
    const result = engine.setFaults(patch.data)
    if (!result.ok) return errorResponse(400, `invalid faults: ${result.problems.join('; ')}`)
    return c.json(result.faults)
  })

  app.notFound(() => errorResponse(404, 'Not Found'))
  return app
}

/** 200 when ready, 503 while "loading"; llama.cpp puts a JSON body on both, the others send none. */
function healthResponse(engine: SimEngine): Response {
  const loading = engine.isSlowStarting()
  if (engine.engine !== 'llamacpp') return new Response(null, { status: loading ? 503 : 200 })
  return loading
    ? Response.json(
        { error: { code: 503, message: 'Loading model', type: 'unavailable_error' } },
        { status: 503 },
      )
    : Response.json({ status: 'ok' })
}
