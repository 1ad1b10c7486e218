import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_CONFIG } from '../../shared/config/gateway-config.ts'
import {
  eventually,
  getJob,
  gpuOnlyConfig,
  type JobStack,
  KEYS,
  startJobStack,
} from '../jobs/support/job-stack.ts'

/**
 * The overflow paths of the APIs beyond chat, against the emulators over HTTP:
 * with every slot taken, `Prefer: respond-async` gets a 202 and the worker runs
 * the job on the job's own backend route, storing that API's answer; any other
 * request is held and answered in the API's shape (a held Responses stream as
 * live typed events).
 */
const MODEL = 'deepseek-r1-distill-llama-8b'
const EMBEDDING_MODEL = 'bge-small-en-v1.5'
let stack: JobStack

const BODIES = {
  completions: { model: MODEL, prompt: 'Once upon a time', max_tokens: 6 },
  responses: { model: MODEL, input: 'Say hello', max_output_tokens: 6 },
  embeddings: { model: EMBEDDING_MODEL, input: ['hello world'] },
} as const
type Api = keyof typeof BODIES

/** What each API's whole answer looks like. */
const SHAPES: Record<Api, Record<string, unknown>> = {
  completions: {
    object: 'text_completion',
    choices: [expect.objectContaining({ text: expect.any(String) })],
  },
  responses: { object: 'response', output: [expect.objectContaining({ type: 'message' })] },
  embeddings: {
    object: 'list',
    data: [expect.objectContaining({ object: 'embedding', embedding: expect.any(Array) })],
  },
}

beforeAll(async () => {
  const embedding = DEFAULT_CONFIG.models.find((m) => m.id === EMBEDDING_MODEL)
  if (!embedding) throw new Error('the default config has no embedding model')
  const base = gpuOnlyConfig()
  stack = await startJobStack({
    fleet: 'h20=1x2,cpu=1x1',
    models: { cpu: [EMBEDDING_MODEL] },
    config: { ...base, models: [...base.models, embedding] },
  })
  await stack.startWorkers()
}, 60_000)
afterAll(async () => {
  await stack?.stop()
})

const backendFor = (api: Api) => {
  const hardware = api === 'embeddings' ? 'cpu' : 'h20'
  const backend = stack.fleet.backends.find((b) => b.hardware === hardware)
  if (!backend) throw new Error(`no ${hardware} backend`)
  return backend
}

function post(api: Api, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return fetch(`${stack.gatewayUrl}/v1/${api}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEYS.queue}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
}

describe.each(['completions', 'responses', 'embeddings'] as const)(
  'POST /v1/%s when every slot is busy',
  (api) => {
    it('Prefer: respond-async answers 202; the worker runs the job on its API and stores that answer', async () => {
      const backend = backendFor(api)
      const unblock = await stack.blockSlots(backend.id, backend.maxConcurrency)
      let unblocked = false
      try {
        const res = await post(api, BODIES[api], { prefer: 'respond-async' })
        expect(res.status).toBe(202)
        const { id } = (await res.json()) as { id: string }
        expect(res.headers.get('location')).toBe(`/v1/jobs/${id}`)
        await unblock()
        unblocked = true
        let job: { status: string; result?: unknown; backend?: string } = { status: 'queued' }
        for (let i = 0; i < 10 && !['succeeded', 'failed'].includes(job.status); i++)
          job = (await (await getJob(stack.gatewayUrl, KEYS.queue, id, '?wait=5')).json()) as typeof job
        expect(job.status).toBe('succeeded')
        expect(job.backend).toBe(backend.id)
        expect(job.result).toMatchObject(SHAPES[api])
      } finally {
        if (!unblocked) await unblock()
      }
    }, 60_000)

    it('without Prefer the request is held, then answered inline in its API’s shape', async () => {
      const backend = backendFor(api)
      const unblock = await stack.blockSlots(backend.id, backend.maxConcurrency)
      const answer = post(api, BODIES[api])
      // Unblocked only once the request is a queued job, however slow the machine.
      const queued = async () =>
        (await stack.adapters.jobs.countOpen({ status: 'queued', max: 10 })).count > 0
      expect(await eventually(queued)).toBe(true)
      await unblock()
      const res = await answer
      expect(res.status).toBe(200)
      expect(res.headers.get('x-spillway-route')).toBe('queued')
      expect(res.headers.get('x-spillway-backend')).toBe(backend.id)
      expect(await res.json()).toMatchObject(SHAPES[api])
    }, 60_000)
  },
)

describe('a held Responses stream', () => {
  it('answers 200 text/event-stream at once, then the typed events live, ending with response.completed', async () => {
    const backend = backendFor('responses')
    const unblock = await stack.blockSlots(backend.id, backend.maxConcurrency)
    const res = await post('responses', { ...BODIES.responses, stream: true })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(res.headers.get('x-spillway-route')).toBe('queued')
    await unblock()
    const text = await res.text()
    expect(text.startsWith(': queued')).toBe(true)
    const types = [...text.matchAll(/^event: (\S+)$/gm)].map((m) => m[1])
    expect(types[0]).toBe('response.created')
    expect(types).toContain('response.output_text.delta')
    expect(types.at(-1)).toMatch(/^response\.(completed|incomplete)$/)
    expect(text).not.toContain('[DONE]')
    expect(text).not.toContain('"error"')
  }, 60_000)
})
