/**
 * `POST /v1/embeddings` for the simulator's embedding models (`EMBEDDING_MODELS`):
 * each input gets a unit vector that is a pure function of (model, input), so
 * tests can assert on it; `encoding_format: "base64"` (what the openai SDK asks
 * for by default) packs the same floats as little-endian float32. A request
 * holds a scheduler slot for its prefill time, like any other.
 */
import type { Context } from 'hono'
import { z } from 'zod'
import { admit, arrive, invalid, jsonBody, type SimEnv } from './admission.ts'
import { settle } from './generate-run.ts'
import { EMBEDDING_MODELS, isEmbeddingModel } from './hardware-profiles.ts'
import { usage } from './openai-wire.ts'
import { Pacer } from './pacer.ts'
import { hashParts, mulberry32 } from './prng.ts'
import type { SimEngine } from './sim-engine.ts'

const MAX_INPUTS = 2048
const tokenIds = z.array(z.number().int().min(0))
const embeddingsBody = z.looseObject({
  model: z.string().nullish(),
  input: z.union([
    z.string(),
    z.array(z.string()).min(1).max(MAX_INPUTS),
    tokenIds.min(1),
    z.array(tokenIds.min(1)).min(1).max(MAX_INPUTS),
  ]),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().min(1).nullish(),
})

/** The vector of one input: a seeded draw per dimension, scaled to length 1. */
export function embeddingVector(model: string, input: string, dimensions: number): number[] {
  const random = mulberry32(hashParts('embedding', model, input))
  const raw = Array.from({ length: dimensions }, () => random() * 2 - 1)
  const norm = Math.hypot(...raw) || 1
  return raw.map((value) => Math.fround(value / norm))
}

export async function handleEmbeddings(engine: SimEngine, c: Context<SimEnv>): Promise<Response> {
  const arrived = arrive(engine)
  if (arrived instanceof Response) return arrived
  const raw = await jsonBody(engine, c)
  if (raw instanceof Response) return raw
  const parsed = embeddingsBody.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const param = issue && issue.path.length > 0 ? issue.path.join('.') : null
    return invalid(engine, `${param ?? 'body'}: ${issue?.message ?? 'invalid request'}`, param)
  }
  const body = parsed.data
  const inputs = toTexts(body.input)
  // Like vLLM for a model without Matryoshka training: any other size is refused, before it takes a slot.
  const named = body.model ?? engine.models.find(isEmbeddingModel)
  const fixed = named === undefined ? undefined : EMBEDDING_MODELS[named]
  if (body.dimensions != null && fixed !== undefined && body.dimensions !== fixed) {
    return invalid(engine, `dimensions: ${named} only produces ${fixed}-dimensional vectors`, 'dimensions')
  }
  const run = admit(engine, c, {
    ...arrived,
    task: 'embed',
    api: 'Embeddings',
    request: {
      model: body.model ?? undefined,
      messages: inputs.map((text) => ({ role: 'user', text })),
      stream: false,
      includeUsage: false,
      maxTokens: 0,
      capped: false,
      seed: 0,
    },
  })
  if (run instanceof Response) return run
  const model = run.header.model
  const size = EMBEDDING_MODELS[model] ?? 0
  const start = await run.started
  if (!start.ok) return new Response(null, { status: 499 })
  engine.stats.started(run.record)
  try {
    const { profile, speed } = engine
    const prefillMs =
      (profile.ttftBaseMs + (run.promptTokens / profile.prefillTokensPerSecond) * 1000) * speed
    const done = await new Pacer().wait(prefillMs, run.signal)
    settle({ engine, record: run.record, end: done ? 'done' : 'aborted', finishReason: 'stop' })
    if (!done) return new Response(null, { status: 499 })
    const base64 = body.encoding_format === 'base64'
    return Response.json({
      object: 'list',
      model,
      data: inputs.map((text, index) => {
        const vector = embeddingVector(model, text, size)
        return {
          object: 'embedding',
          index,
          embedding: base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector,
        }
      }),
      usage: { prompt_tokens: run.promptTokens, total_tokens: usage(run.promptTokens, 0).total_tokens },
    })
  } finally {
    start.sequence.release()
  }
}

/** Token-id inputs are embedded by their ids' text: still deterministic, still one vector each. */
function toTexts(input: z.infer<typeof embeddingsBody>['input']): string[] {
  if (typeof input === 'string') return [input]
  if (input.every((item) => typeof item === 'string')) return input as string[]
  if (input.every((item) => typeof item === 'number')) return [(input as number[]).join(' ')]
  return (input as number[][]).map((ids) => ids.join(' '))
}
