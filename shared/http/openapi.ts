/** A hand-kept OpenAPI 3.1 description of the public contract (docs/ARCHITECTURE.md has the why). */
export function openApiDocument(version: string) {
  const error = { $ref: '#/components/schemas/Error' }
  const errorResponse = (description: string) => ({
    description,
    content: { 'application/json': { schema: error } },
  })
  const routed = {
    'x-spillway-route': { schema: { type: 'string', enum: ['primary', 'fallback', 'queued'] } },
    'x-spillway-hardware': { schema: { type: 'string' } },
    'x-spillway-backend': { schema: { type: 'string' } },
    'x-request-id': { schema: { type: 'string' } },
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Spillway',
      version,
      description: 'OpenAI-compatible inference gateway with GPU leases, CPU fallback and SQS overflow.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['message', 'type', 'code'],
              properties: {
                message: { type: 'string' },
                type: { type: 'string' },
                param: { type: ['string', 'null'] },
                code: { type: 'string' },
              },
            },
          },
        },
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/chat/completions': {
        post: {
          summary: 'Create a chat completion (OpenAI wire format; `stream: true` answers with SSE).',
          parameters: [
            {
              name: 'Prefer',
              in: 'header',
              schema: { type: 'string' },
              description: '`respond-async` and/or `wait=N` (RFC 7240)',
            },
            { name: 'Idempotency-Key', in: 'header', schema: { type: 'string' } },
            {
              name: 'x-spillway-deadline',
              in: 'header',
              schema: { type: 'string' },
              description: 'seconds or RFC 3339',
            },
          ],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { type: 'object', required: ['model', 'messages'] } } },
          },
          responses: {
            '200': { description: 'The completion (JSON) or a stream (text/event-stream).', headers: routed },
            '202': {
              description: 'Queued as a job; poll `Location`.',
              headers: {
                Location: { schema: { type: 'string' } },
                'Retry-After': { schema: { type: 'integer' } },
              },
            },
            '400': errorResponse('Malformed request'),
            '401': errorResponse('Missing or invalid API key'),
            '403': errorResponse('Model not allowed for this key'),
            '404': errorResponse('Unknown model'),
            '413': errorResponse('Body too large'),
            '422': errorResponse('Unprocessable request'),
            '429': errorResponse('Capacity exhausted or rate limited (see Retry-After)'),
            '502': errorResponse('Every backend tried failed'),
            '503': errorResponse('No healthy backend for the model'),
          },
        },
      },
      '/v1/models': {
        get: {
          summary: 'Configured models with tiers and live availability.',
          responses: { '200': { description: 'OpenAI model list' } },
        },
      },
      '/v1/models/{id}': {
        get: {
          summary: 'One configured model with its tiers and live availability (`models.retrieve`).',
          responses: { '200': { description: 'OpenAI model object' }, '404': errorResponse('No such model') },
        },
      },
      '/v1/jobs/{id}': {
        get: {
          summary: 'Job status and result (`?wait=N` long-polls).',
          responses: { '200': { description: 'The job' }, '404': errorResponse('No such job') },
        },
        delete: {
          summary: 'Cancel a job.',
          responses: { '200': { description: 'The cancelled job' }, '404': errorResponse('No such job') },
        },
      },
      '/health': { get: { summary: 'Liveness', security: [], responses: { '200': { description: 'ok' } } } },
      '/admin/backends': {
        get: {
          summary: 'Backends with URL, hardware, slots and leases (admin key).',
          responses: { '200': { description: 'list' } },
        },
        post: {
          summary: 'Register a backend (agent or admin key).',
          responses: { '201': { description: 'registered' } },
        },
      },
      '/admin/backends/{id}/heartbeat': {
        post: {
          summary: 'Report live load (agent or admin key).',
          responses: { '200': { description: 'ok' } },
        },
      },
      '/admin/backends/{id}/drain': {
        post: {
          summary: 'Take a backend out of rotation (admin key).',
          responses: { '200': { description: 'ok' } },
        },
      },
      '/admin/capacity': {
        get: {
          summary: 'Slots and leases per hardware class (admin key).',
          responses: { '200': { description: 'ok' } },
        },
      },
      '/admin/queues': {
        get: {
          summary: 'Overflow backlog: SQS depth per lane and open jobs by status (admin key).',
          responses: { '200': { description: 'ok' } },
        },
      },
    },
  }
}
