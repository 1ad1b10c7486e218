import * as z from '../validation/zod-mini.ts'

/**
 * Response bodies as `/openapi.json` documents them. Request bodies are not
 * here: the document uses the very schemas that validate them (chat request,
 * backend registration, heartbeat, key creation). These describe what the routes
 * build (`jobView`, `describeBackend`…), loosely where a backend's answer
 * passes through (a chat completion is the backend's OpenAI body).
 */
const isoTime = z.string().check(z.iso.datetime())
const epochSeconds = z.nullable(z.int())

export const ErrorBody = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    param: z.nullable(z.string()),
    code: z.string(),
  }),
})

export const ChatCompletion = z.looseObject({
  id: z.string(),
  object: z.literal('chat.completion'),
  created: z.int(),
  model: z.string(),
  choices: z.array(z.looseObject({ index: z.int(), message: z.looseObject({ role: z.string() }) })),
  usage: z.optional(z.looseObject({ prompt_tokens: z.int(), completion_tokens: z.int() })),
})

export const TextCompletion = z.looseObject({
  id: z.string(),
  object: z.literal('text_completion'),
  created: z.int(),
  model: z.string(),
  choices: z.array(z.looseObject({ index: z.int(), text: z.string() })),
  usage: z.optional(z.looseObject({ prompt_tokens: z.int(), completion_tokens: z.int() })),
})

export const EmbeddingList = z.looseObject({
  object: z.literal('list'),
  model: z.string(),
  data: z.array(
    z.looseObject({
      object: z.literal('embedding'),
      index: z.int(),
      // Floats, or base64 little-endian float32 with `encoding_format: "base64"`.
      embedding: z.union([z.array(z.number()), z.string()]),
    }),
  ),
  usage: z.optional(z.looseObject({ prompt_tokens: z.int(), total_tokens: z.int() })),
})

export const ResponseObject = z.looseObject({
  id: z.string(),
  object: z.literal('response'),
  created_at: z.number(),
  model: z.string(),
  status: z.string(),
  output: z.array(z.looseObject({ type: z.string() })),
})

export const JobAccepted = z.object({
  id: z.string(),
  object: z.literal('inference.job'),
  status: z.literal('queued'),
})

export const Job = z.object({
  id: z.string(),
  object: z.literal('inference.job'),
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'expired', 'cancelled']),
  model: z.string(),
  priority: z.enum(['interactive', 'batch']),
  created_at: epochSeconds,
  started_at: epochSeconds,
  finished_at: epochSeconds,
  deadline_at: epochSeconds,
  attempts: z.int(),
  route: z.nullable(z.literal('queued')),
  hardware: z.nullable(z.string()),
  backend: z.nullable(z.string()),
  /** The answer of the job's API: a chat completion, text completion, embedding list or response. */
  result: z.nullable(z.union([ChatCompletion, TextCompletion, EmbeddingList, ResponseObject])),
  error: z.nullable(z.object({ code: z.string(), message: z.string() })),
  webhook: z.optional(
    z.object({ status: z.enum(['pending', 'delivered', 'failed', 'skipped']), attempts: z.int() }),
  ),
})

export const ModelList = z.object({
  object: z.literal('list'),
  data: z.array(
    z.looseObject({
      id: z.string(),
      object: z.literal('model'),
      owned_by: z.string(),
      kind: z.enum(['generation', 'embedding']),
      apis: z.array(z.string()),
      tiers: z.array(
        z.object({
          hardware: z.array(z.string()),
          model: z.string(),
          degraded: z.boolean(),
          apis: z.array(z.string()),
          available: z.boolean(),
          backends: z.int(),
          slots: z.int(),
          free_slots: z.int(),
        }),
      ),
    }),
  ),
})

export const Backend = z.object({
  id: z.string(),
  url: z.string(),
  hardware: z.string(),
  models: z.array(z.string()),
  apis: z.array(z.enum(['chat', 'completions', 'embeddings', 'responses'])),
  state: z.enum(['active', 'draining']),
  maxConcurrency: z.int(),
  leases: z.int(),
  freeSlots: z.int(),
  load: z.object({ running: z.number(), waiting: z.number(), kvCacheUsage: z.number() }),
  heartbeatAt: isoTime,
  heartbeatAgeSeconds: z.number(),
  circuitOpenUntil: z.optional(isoTime),
})

export const BackendList = z.object({ data: z.array(Backend) })

export const Capacity = z.object({
  at: isoTime,
  hardware: z.record(z.string(), z.object({ backends: z.int(), slots: z.int(), leases: z.int() })),
})

const openCount = z.object({ count: z.int(), capped: z.boolean() })

export const Queues = z.object({
  at: isoTime,
  lanes: z.array(
    z.object({
      lane: z.enum(['interactive', 'batch']),
      waiting: z.int(),
      delayed: z.int(),
      inFlight: z.int(),
      deadLettered: z.int(),
    }),
  ),
  jobs: z.optional(z.object({ queued: openCount, running: openCount })),
})

export const Health = z.object({ status: z.literal('ok'), version: z.string(), uptimeSeconds: z.number() })

const KeyView = z.object({
  id: z.string(),
  hint: z.string(),
  tenant: z.string(),
  createdAt: isoTime,
  revokedAt: z.nullable(isoTime),
})

const TenantPolicy = z.object({
  id: z.string(),
  models: z.array(z.string()),
  mayDegrade: z.boolean(),
  mayQueue: z.boolean(),
  priority: z.enum(['interactive', 'batch']),
  defaultWaitSeconds: z.int(),
  jobDeadlineSeconds: z.int(),
  rateLimitPerMinute: z.optional(z.int()),
})

export const KeyCreated = z.object({ key: z.string(), ...KeyView.shape, policy: TenantPolicy })

export const KeyList = z.object({ tenants: z.array(TenantPolicy), data: z.array(KeyView) })

export const KeyRevoked = z.object({ ...KeyView.shape, stopsWorkingWithinSeconds: z.int() })
