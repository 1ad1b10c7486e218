import { readFile } from 'node:fs/promises'
import { pathToFileURL } from 'node:url'
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LocalStack } from '../../local/local-stack.ts'
import { bundleFunction } from '../support/bundle.ts'
import { ADMIN_KEY, eventually, startTestStack } from '../support/gateway-stack.ts'
import { captureResponse, installLambdaStreamingGlobals } from '../support/lambda-runtime.ts'

// The gateway's Lambda handler, source and esbuild bundle alike, invoked with the
// Function URL sample events kept for `sam local invoke`, against the emulators
// and the simulated fleet.
type StreamingHandler = (
  event: APIGatewayProxyEventV2,
  stream: NodeJS.WritableStream,
  context: Context,
) => Promise<void>

let stack: LocalStack
const handlers: Record<string, StreamingHandler> = {}

const event = async (name: string): Promise<APIGatewayProxyEventV2> =>
  JSON.parse(await readFile(new URL(`../fixtures/events/${name}.json`, import.meta.url), 'utf8'))
const context = {} as Context

beforeAll(async () => {
  stack = await startTestStack({
    fleet: 'h20=1x2',
    speed: 1,
    tenants: [{ key: 'sk-spillway-dev', policy: { id: 'dev', mayDegrade: true } }],
  })
  await stack.ready()
  installLambdaStreamingGlobals()
  Object.assign(process.env, stack.env)
  handlers.source = (
    (await import('../../functions/gateway/lambda.ts')) as { handler: StreamingHandler }
  ).handler
  const bundle = await bundleFunction('gateway', 'test')
  handlers.bundle = ((await import(pathToFileURL(bundle).href)) as { handler: StreamingHandler }).handler
}, 60_000)
afterAll(async () => {
  await stack?.stop()
})

async function leases(): Promise<number> {
  const res = await fetch(`${stack.gatewayUrl}/admin/backends`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  })
  return ((await res.json()) as { data: { leases: number }[] }).data.reduce((sum, b) => sum + b.leases, 0)
}

describe.each(['source', 'bundle'])('Function URL handler (%s)', (kind) => {
  it('streams a chat completion as SSE with the routing headers', async () => {
    const response = captureResponse()
    await handlers[kind]!(await event('function-url-chat-completion-stream'), response.stream, context)

    expect(response.metadata?.statusCode).toBe(200)
    expect(response.metadata?.headers?.['content-type']).toContain('text/event-stream')
    expect(response.metadata?.headers?.['x-spillway-route']).toBe('primary')
    expect(response.metadata?.headers?.['x-spillway-hardware']).toBe('h20')
    expect(response.metadata?.headers?.['x-request-id']).toBeTruthy()
    expect(response.body.trim().endsWith('data: [DONE]')).toBe(true)
  })

  it('answers a non-streaming completion and the health check', async () => {
    const completion = captureResponse()
    await handlers[kind]!(await event('function-url-chat-completion'), completion.stream, context)
    expect(completion.metadata?.statusCode).toBe(200)
    expect((JSON.parse(completion.body) as { object: string }).object).toBe('chat.completion')

    const health = captureResponse()
    await handlers[kind]!(await event('function-url-health'), health.stream, context)
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok' })
  })

  it('releases the slot before the invocation ends when the client goes away mid-stream', async () => {
    // Prepare: a long generation and a client that leaves after three chunks.
    const long = await event('function-url-chat-completion-stream')
    long.body = JSON.stringify({ ...JSON.parse(long.body ?? '{}'), max_tokens: 20_000 })
    const response = captureResponse({ failAfterChunks: 3 })
    const abortedBefore = stack.fleet.backends[0]!.state().totals.aborted

    // Act
    await handlers[kind]!(long, response.stream, context)

    // Assess: nothing runs after a Lambda invocation, so the lease must already be gone.
    expect(await leases()).toBe(0)
    expect(
      await eventually(() => stack.fleet.backends[0]!.state().totals.aborted === abortedBefore + 1),
    ).toBe(true)
  })
})
