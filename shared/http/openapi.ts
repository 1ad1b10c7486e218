import * as z from '../validation/zod-mini.ts'
import { ChatCompletionRequestSchema } from './chat-request.ts'
import { CompletionsRequestSchema } from './completions-request.ts'
import { EmbeddingsRequestSchema } from './embeddings-request.ts'
import * as responses from './openapi-schemas.ts'
import { ResponsesRequestSchema } from './responses-request.ts'
import { Heartbeat, Registration } from './routes/admin-backends.ts'
import { KeyCreation } from './routes/admin-keys.ts'

/**
 * `/openapi.json`, generated: request bodies from the zod schemas the routes
 * validate with (`z.toJSONSchema`, as the route sees them: input side, defaults
 * optional), responses from `openapi-schemas.ts`. One row of `OPERATIONS` per
 * route the app registers; `test/http/openapi.test.ts` fails when a route has
 * no row, so a new route is documented by adding one here.
 */
type Auth = 'none' | 'tenant' | 'admin' | 'agent'

interface Parameter {
  readonly name: string
  readonly in: 'header' | 'query'
  readonly description: string
  readonly schema: z.core.$ZodType
}

interface ResponseSpec {
  readonly description: string
  readonly schema?: z.core.$ZodType
  /** Other media types than JSON (SSE, HTML, Prometheus text). */
  readonly content?: Record<string, { schema: object }>
  readonly headers?: Record<string, string>
}

export interface OperationSpec {
  readonly method: 'get' | 'post' | 'delete'
  /** OpenAPI form: `/v1/jobs/{id}`; every `{name}` is declared as a path parameter. */
  readonly path: string
  readonly summary: string
  readonly auth: Auth
  readonly body?: z.core.$ZodType
  readonly parameters?: readonly Parameter[]
  readonly responses: Readonly<Record<string, ResponseSpec>>
}

const header = (name: string, description: string): Parameter => ({
  name,
  in: 'header',
  description,
  schema: z.string(),
})
const error = (description: string): ResponseSpec => ({ description, schema: responses.ErrorBody })
const ROUTE_HEADERS = {
  'x-spillway-route': '`primary`, `fallback` (CPU tier) or `queued`',
  'x-spillway-hardware': 'hardware class that served it, e.g. `h20`, `cpu`',
  'x-spillway-backend': 'id of the backend that served it',
  'x-request-id': 'request id, also in the logs',
}
const authErrors = { '401': error('Missing or invalid key') }
const notFound = (what: string) => ({ '404': error(`No such ${what}`) })

/** The admission headers, answers and errors every inference route shares (one decision module serves them all). */
function inferenceOperation(o: {
  path: string
  summary: string
  body: z.core.$ZodType
  answer: z.core.$ZodType
  answerDescription: string
  streams: boolean
}): OperationSpec {
  return {
    method: 'post',
    path: o.path,
    summary: o.summary,
    auth: 'tenant',
    body: o.body,
    parameters: [
      header(
        'Prefer',
        '`respond-async` (202 and a job when no slot is free) and/or `wait=N` seconds (RFC 7240)',
      ),
      header('Idempotency-Key', 'a retry with the same key joins the same job or gets its stored outcome'),
      header(
        'x-spillway-deadline',
        'seconds from now, or an RFC 3339 time, after which a queued job expires',
      ),
      header(
        'x-spillway-webhook',
        'URL that receives the job when it ends (Standard Webhooks signature); queries allowed, private targets refused',
      ),
    ],
    responses: {
      '200': {
        description: o.answerDescription,
        schema: o.answer,
        ...(o.streams ? { content: { 'text/event-stream': { schema: { type: 'string' } } } } : {}),
        headers: ROUTE_HEADERS,
      },
      '202': {
        description: 'Queued as a job (only with `Prefer: respond-async`); poll `Location`.',
        schema: responses.JobAccepted,
        headers: { Location: '`/v1/jobs/{id}`', 'Retry-After': 'seconds' },
      },
      '400': error('Malformed request, or a model of another kind (an embedding model on a generation API)'),
      ...authErrors,
      '403': error('Model not allowed for this key'),
      '404': error('Unknown model'),
      '413': error('Body too large'),
      '422': error('Unprocessable request (a deadline already past)'),
      '429': error('Capacity exhausted or rate limited (see Retry-After)'),
      '502': error('Every backend tried failed'),
      '503': error('No healthy backend for the model, or a hold that ran out (see Retry-After)'),
    },
  }
}

export const OPERATIONS: readonly OperationSpec[] = [
  inferenceOperation({
    path: '/v1/chat/completions',
    summary: 'Create a chat completion (OpenAI wire format; `stream: true` answers with SSE).',
    body: ChatCompletionRequestSchema,
    answer: responses.ChatCompletion,
    answerDescription: 'The completion, or a stream (`text/event-stream`: `data: {chunk}` … `data: [DONE]`).',
    streams: true,
  }),
  inferenceOperation({
    path: '/v1/completions',
    summary: 'Create a (legacy) text completion; `stream: true` answers with SSE.',
    body: CompletionsRequestSchema,
    answer: responses.TextCompletion,
    answerDescription: 'The `text_completion`, or a stream (`data: {chunk}` … `data: [DONE]`).',
    streams: true,
  }),
  inferenceOperation({
    path: '/v1/embeddings',
    summary: 'Embed texts or token ids with an embedding model (its own tiers and backends).',
    body: EmbeddingsRequestSchema,
    answer: responses.EmbeddingList,
    answerDescription: 'The embedding list (floats, or base64 float32 with `encoding_format: "base64"`).',
    streams: false,
  }),
  inferenceOperation({
    path: '/v1/responses',
    summary: 'Create a response (OpenAI Responses API), passed through to backends that serve it.',
    body: ResponsesRequestSchema,
    answer: responses.ResponseObject,
    answerDescription:
      'The response, or a stream of typed events (`event: response.output_text.delta` … `response.completed`; no `[DONE]`).',
    streams: true,
  }),
  {
    method: 'get',
    path: '/v1/models',
    summary: 'Configured models with their tiers and live availability.',
    auth: 'tenant',
    responses: { '200': { description: 'OpenAI model list', schema: responses.ModelList }, ...authErrors },
  },
  {
    method: 'get',
    path: '/v1/models/{id}',
    summary: 'One configured model (ids may contain `/`), or 404 as for an unknown one.',
    auth: 'tenant',
    responses: {
      '200': {
        description: 'OpenAI model object',
        content: { 'application/json': { schema: { type: 'object' } } },
      },
      ...authErrors,
      ...notFound('model'),
    },
  },
  {
    method: 'get',
    path: '/v1/jobs/{id}',
    summary: 'Job status, and its result once it succeeded.',
    auth: 'tenant',
    parameters: [
      {
        name: 'wait',
        in: 'query',
        description: 'long-poll: hold up to N seconds (at most 60) until the job ends',
        schema: z.int().check(z.gte(0)),
      },
    ],
    responses: {
      '200': { description: 'The job', schema: responses.Job },
      ...authErrors,
      ...notFound('job'),
    },
  },
  {
    method: 'delete',
    path: '/v1/jobs/{id}',
    summary: 'Cancel a job (cancelling twice is fine; a job that already ended is 409).',
    auth: 'tenant',
    responses: {
      '200': { description: 'The cancelled job', schema: responses.Job },
      ...authErrors,
      ...notFound('job'),
      '409': error('The job has already ended'),
    },
  },
  {
    method: 'get',
    path: '/health',
    summary: 'Liveness of the gateway process (reads no store).',
    auth: 'none',
    responses: { '200': { description: 'ok', schema: responses.Health } },
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document.',
    auth: 'none',
    responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: {} } } } },
  },
  {
    method: 'get',
    path: '/docs',
    summary: 'This document, rendered as a page.',
    auth: 'none',
    responses: { '200': { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } },
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus text: requests, slots, queue depth, jobs, backend state, latency histograms.',
    auth: 'admin',
    responses: {
      '200': {
        description: 'Prometheus text format',
        content: { 'text/plain': { schema: { type: 'string' } } },
      },
      ...authErrors,
    },
  },
  {
    method: 'get',
    path: '/dashboard',
    summary: 'The live dashboard page (its data needs the admin key).',
    auth: 'none',
    responses: { '200': { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } },
  },
  {
    method: 'get',
    path: '/dashboard/app.js',
    summary: "The dashboard page's script.",
    auth: 'none',
    responses: {
      '200': { description: 'JavaScript', content: { 'text/javascript': { schema: { type: 'string' } } } },
    },
  },
  {
    method: 'get',
    path: '/dashboard/data',
    summary: 'What the dashboard shows: pools, queue, rates, job outcomes, recent routing decisions.',
    auth: 'admin',
    responses: {
      '200': {
        description: 'Dashboard data',
        content: { 'application/json': { schema: { type: 'object' } } },
      },
      ...authErrors,
    },
  },
  {
    method: 'post',
    path: '/admin/backends',
    summary: 'Register a backend, or register it again (agent or admin key).',
    auth: 'agent',
    body: Registration,
    responses: {
      '201': { description: 'Registered', schema: responses.Backend },
      '400': error('Invalid registration or refused URL'),
      ...authErrors,
    },
  },
  {
    method: 'get',
    path: '/admin/backends',
    summary: 'Backends with URL, hardware, state, slots, leases and load.',
    auth: 'admin',
    responses: { '200': { description: 'Backends', schema: responses.BackendList }, ...authErrors },
  },
  {
    method: 'post',
    path: '/admin/backends/{id}/heartbeat',
    summary: 'Report live load (agent or admin key).',
    auth: 'agent',
    body: Heartbeat,
    responses: {
      '200': { description: 'The backend', schema: responses.Backend },
      '400': error('Invalid load'),
      ...authErrors,
      ...notFound('backend'),
    },
  },
  {
    method: 'post',
    path: '/admin/backends/{id}/drain',
    summary: 'Take a backend out of rotation; running requests finish.',
    auth: 'admin',
    responses: {
      '200': { description: 'The backend', schema: responses.Backend },
      ...authErrors,
      ...notFound('backend'),
    },
  },
  {
    method: 'post',
    path: '/admin/backends/{id}/undrain',
    summary: 'Put a drained backend back into rotation.',
    auth: 'admin',
    responses: {
      '200': { description: 'The backend', schema: responses.Backend },
      ...authErrors,
      ...notFound('backend'),
    },
  },
  {
    method: 'delete',
    path: '/admin/backends/{id}',
    summary: 'Deregister a backend.',
    auth: 'admin',
    responses: { '204': { description: 'Removed' }, ...authErrors, ...notFound('backend') },
  },
  {
    method: 'get',
    path: '/admin/capacity',
    summary: 'Backends, slots and leases per hardware class.',
    auth: 'admin',
    responses: { '200': { description: 'Capacity', schema: responses.Capacity }, ...authErrors },
  },
  {
    method: 'get',
    path: '/admin/queues',
    summary: 'Overflow backlog: SQS depth per lane and open jobs by status.',
    auth: 'admin',
    responses: { '200': { description: 'Queues', schema: responses.Queues }, ...authErrors },
  },
  {
    method: 'post',
    path: '/admin/keys',
    summary: 'Create a tenant (or update the options given) and a new API key, shown only in this answer.',
    auth: 'admin',
    body: KeyCreation,
    responses: {
      '201': { description: 'The new key', schema: responses.KeyCreated },
      '400': error('Invalid tenant policy'),
      ...authErrors,
    },
  },
  {
    method: 'get',
    path: '/admin/keys',
    summary: 'Tenants and their keys (hints and ids, never the keys).',
    auth: 'admin',
    responses: { '200': { description: 'Keys', schema: responses.KeyList }, ...authErrors },
  },
  {
    method: 'delete',
    path: '/admin/keys/{id}',
    summary: 'Revoke a key by its id; gateways stop accepting it within their key cache time.',
    auth: 'admin',
    responses: {
      '200': { description: 'The revoked key', schema: responses.KeyRevoked },
      ...authErrors,
      ...notFound('key'),
      '409': error('The id names more than one key'),
    },
  },
]

const SECURITY: Record<Auth, object[]> = {
  none: [],
  tenant: [{ apiKey: [] }],
  admin: [{ adminKey: [] }],
  agent: [{ agentKey: [] }, { adminKey: [] }],
}

function jsonSchema(schema: z.core.$ZodType): object {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' })
  return rest
}

function operationObject(op: OperationSpec) {
  const pathParameters = [...op.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name: name ?? '',
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }))
  return {
    operationId: `${op.method}${op.path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string) => (c ?? '').toUpperCase())}`,
    summary: op.summary,
    security: SECURITY[op.auth],
    parameters: [
      ...pathParameters,
      ...(op.parameters ?? []).map((p) => ({
        name: p.name,
        in: p.in,
        description: p.description,
        schema: jsonSchema(p.schema),
      })),
    ],
    ...(op.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(op.body) } } } }
      : {}),
    responses: Object.fromEntries(
      Object.entries(op.responses).map(([status, r]) => [
        status,
        {
          description: r.description,
          ...(r.schema || r.content
            ? {
                content: {
                  ...(r.schema ? { 'application/json': { schema: jsonSchema(r.schema) } } : {}),
                  ...r.content,
                },
              }
            : {}),
          ...(r.headers
            ? {
                headers: Object.fromEntries(
                  Object.entries(r.headers).map(([name, description]) => [
                    name,
                    { description, schema: { type: 'string' } },
                  ]),
                ),
              }
            : {}),
        },
      ]),
    ),
  }
}

/** The OpenAPI 3.1 document for `operations` (every route of the app by default). */
export function openApiDocument(version: string, operations: readonly OperationSpec[] = OPERATIONS) {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const op of operations) {
    paths[op.path] = { ...paths[op.path], [op.method]: operationObject(op) }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Spillway',
      version,
      description: 'OpenAI-compatible inference gateway with GPU leases, CPU fallback and SQS overflow.',
    },
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'A tenant API key (`sk-spw-…`)' },
        adminKey: { type: 'http', scheme: 'bearer', description: 'The admin key' },
        agentKey: { type: 'http', scheme: 'bearer', description: "The backend agents' key" },
      },
    },
    paths,
  }
}
