import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../shared/http/app.ts'
import { silentLogger } from '../../shared/logging.ts'
import { type AwsAdapters, createAwsAdapters } from '../../shared/runtime/aws-adapters.ts'
import { gatewayDeps } from '../../shared/runtime/gateway-deps.ts'
import { readRuntimeEnv } from '../../shared/runtime/runtime-env.ts'
import { resolveSecrets } from '../../shared/runtime/secrets.ts'
import { chatBody } from '../support/gateway-stack.ts'

// DynamoDB and SQS unreachable (a port nothing listens on): the SDK retries, then the
// gateway must answer 503 with Retry-After, a condition to retry, not a 500 bug.
let adapters: AwsAdapters
let app: ReturnType<typeof createApp>

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (!address || typeof address === 'string') throw new Error('no port')
  return address.port
}

beforeAll(async () => {
  const dead = `http://127.0.0.1:${await closedPort()}`
  const env = readRuntimeEnv({
    AWS_REGION: 'us-east-1',
    SPILLWAY_DYNAMODB_ENDPOINT: dead,
    SPILLWAY_SQS_ENDPOINT: dead,
    SPILLWAY_TABLE_BACKENDS: 'backends',
    SPILLWAY_TABLE_JOBS: 'jobs',
    SPILLWAY_TABLE_TENANTS: 'tenants',
    SPILLWAY_QUEUE_INTERACTIVE_URL: `${dead}/000000000000/interactive`,
    SPILLWAY_QUEUE_BATCH_URL: `${dead}/000000000000/batch`,
    SPILLWAY_ADMIN_KEY: 'sk-admin',
  })
  adapters = createAwsAdapters(env)
  app = createApp(gatewayDeps({ env, adapters, secrets: await resolveSecrets(env), log: silentLogger }))
})
afterAll(() => {
  adapters.clients.dynamo.destroy()
  adapters.clients.sqs.destroy()
})

const expect503 = async (res: Response) => {
  const body = (await res.json()) as { error: { type: string; code: string } }
  expect(res.status).toBe(503)
  expect(res.headers.get('retry-after')).toBe('1')
  expect(body.error).toMatchObject({ type: 'service_unavailable_error', code: 'dependency_unavailable' })
}

describe('with DynamoDB and SQS unreachable', () => {
  it('answers 503 with Retry-After to tenant, completion and admin requests', async () => {
    const bearer = (key: string) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' })
    await expect503(await app.request('/v1/models', { headers: bearer('sk-some-tenant') }))
    await expect503(
      await app.request('/v1/chat/completions', {
        method: 'POST',
        headers: bearer('sk-some-tenant'),
        body: JSON.stringify(chatBody()),
      }),
    )
    await expect503(await app.request('/admin/backends', { headers: bearer('sk-admin') }))
  })

  it('still answers its own health check', async () => {
    expect((await app.request('/health')).status).toBe(200)
  })
})
