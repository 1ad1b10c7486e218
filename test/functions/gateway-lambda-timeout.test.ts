import { readFile } from 'node:fs/promises'
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LocalStack } from '../../local/local-stack.ts'
import { ADMIN_KEY, postChat, startTestStack } from '../support/gateway-stack.ts'
import { captureResponse, installLambdaStreamingGlobals } from '../support/lambda-runtime.ts'

// A stream still running when the gateway's Lambda invocation reaches its timeout
// (defect 12): the handler reads the remaining time from the context, ends the
// stream with an SSE error event a few seconds before the end, and frees the slot
// before returning, for a directly served stream and for a held one.
type StreamingHandler = (
  event: APIGatewayProxyEventV2,
  stream: NodeJS.WritableStream,
  context: Context,
) => Promise<void>

const QUEUE_KEY = 'sk-timeout-queue'
let stack: LocalStack
let handler: StreamingHandler

/** A Lambda context whose invocation ends `ms` from now. */
const endingIn = (ms: number): Context => {
  const end = Date.now() + ms
  return { getRemainingTimeInMillis: () => end - Date.now() } as Context
}

async function streamEvent(o: { key: string; maxTokens: number }): Promise<APIGatewayProxyEventV2> {
  const url = new URL('../fixtures/events/function-url-chat-completion-stream.json', import.meta.url)
  const event = JSON.parse(await readFile(url, 'utf8')) as APIGatewayProxyEventV2
  event.headers = { ...event.headers, authorization: `Bearer ${o.key}` }
  event.body = JSON.stringify({ ...JSON.parse(event.body ?? '{}'), max_tokens: o.maxTokens })
  return event
}

async function leases(): Promise<number> {
  const res = await fetch(`${stack.gatewayUrl}/admin/backends`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  })
  return ((await res.json()) as { data: { leases: number }[] }).data.reduce((sum, b) => sum + b.leases, 0)
}

/** Every SSE event of a body, parsed; throws on a line that is not a whole event (a garbled join). */
function events(body: string): unknown[] {
  return body
    .split('\n\n')
    .filter((event) => event.trim() !== '' && !event.startsWith(':'))
    .map((event) => {
      expect(event.startsWith('data: ')).toBe(true)
      const data = event.slice('data: '.length)
      return data === '[DONE]' ? data : JSON.parse(data)
    })
}

beforeAll(async () => {
  // One slot at real speed (6 ms a token): 20,000 tokens take two minutes.
  stack = await startTestStack({
    fleet: 'h20=1x1',
    speed: 1,
    tenants: [
      { key: 'sk-spillway-dev', policy: { id: 'dev', mayDegrade: true } },
      { key: QUEUE_KEY, policy: { id: 'queuer', mayQueue: true } },
    ],
  })
  await stack.ready()
  installLambdaStreamingGlobals()
  Object.assign(process.env, stack.env)
  handler = ((await import('../../functions/gateway/lambda.ts')) as { handler: StreamingHandler }).handler
}, 60_000)
afterAll(async () => {
  await stack?.stop()
})

describe('Function URL handler at the Lambda timeout', () => {
  it('ends a direct stream with an SSE error event and frees its slot before returning', async () => {
    // Prepare: 4 s left, so the handler ends the stream 1 s in (its margin is 3 s).
    const response = captureResponse()
    const started = Date.now()

    // Act
    await handler(
      await streamEvent({ key: 'sk-spillway-dev', maxTokens: 20_000 }),
      response.stream,
      endingIn(4_000),
    )

    // Assess: chunks, then one well-formed error event, no [DONE]; the slot is already back.
    expect(Date.now() - started).toBeLessThan(4_000)
    expect(response.metadata?.statusCode).toBe(200)
    const parsed = events(response.body)
    expect(parsed.length).toBeGreaterThan(2)
    expect(parsed).not.toContain('[DONE]')
    expect(parsed.at(-1)).toMatchObject({
      error: {
        type: 'server_error',
        code: 'gateway_timeout',
        message: expect.stringContaining('time limit'),
      },
    })
    expect(await leases()).toBe(0)
  }, 30_000)

  it('ends a held stream that got its slot with an SSE error event, cancelling its job', async () => {
    // Prepare: the only slot is busy for about 1.5 s, so the held stream queues, then runs.
    const busy = postChat(stack.gatewayUrl, 'sk-spillway-dev', {
      model: 'deepseek-r1-distill-llama-8b',
      messages: [{ role: 'user', content: 'occupy the slot' }],
      max_tokens: 250,
    })
    await new Promise((resolve) => setTimeout(resolve, 100))
    const response = captureResponse()

    // Act: 14 s left: the hold may wait 4 s (the app keeps 10 s), the stream is ended at 11 s.
    await handler(await streamEvent({ key: QUEUE_KEY, maxTokens: 20_000 }), response.stream, endingIn(14_000))

    // Assess
    expect((await busy).status).toBe(200)
    expect(response.metadata?.headers?.['x-spillway-route']).toBe('queued')
    const parsed = events(response.body)
    expect(
      parsed.filter((e) => typeof e === 'object' && e !== null && 'choices' in e).length,
    ).toBeGreaterThan(2)
    expect(parsed.at(-1)).toMatchObject({ error: { code: 'gateway_timeout' } })
    expect(await leases()).toBe(0)
    const jobId = response.metadata?.headers?.['x-spillway-job-id']
    const job = await fetch(`${stack.gatewayUrl}/v1/jobs/${jobId}`, {
      headers: { authorization: `Bearer ${QUEUE_KEY}` },
    })
    expect(((await job.json()) as { status: string }).status).toBe('cancelled')
  }, 40_000)
})
