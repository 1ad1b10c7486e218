/**
 * CORS as a browser enforces it: Chromium (playwright-core, Debian's binary)
 * loads a page from one loopback port and calls the gateway, on another, with
 * the key; a page from a port the gateway does not allow is blocked.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LocalStack } from '../../local/local-stack.ts'
import { chatBody, KEYS, startTestStack } from '../support/gateway-stack.ts'

async function pageServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>app</title><p>app</p>')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

let stack: LocalStack
let browser: Browser
let allowed: Awaited<ReturnType<typeof pageServer>>
let other: Awaited<ReturnType<typeof pageServer>>

beforeAll(async () => {
  allowed = await pageServer()
  other = await pageServer()
  stack = await startTestStack({ fleet: 'h20=1x2', corsOrigins: [allowed.origin] })
  await stack.ready()
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  })
}, 60_000)
afterAll(async () => {
  await browser?.close()
  await stack?.stop()
  for (const page of [allowed, other]) page?.server.close()
})

/** Runs a chat completion with fetch inside a page served from `origin`. */
async function callFromPage(origin: string) {
  const page = await browser.newPage()
  try {
    await page.goto(origin)
    return await page.evaluate(
      async ({ url, key, body }) => {
        try {
          const res = await fetch(`${url}/v1/chat/completions`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify(body),
          })
          const json = (await res.json()) as { object?: string }
          return {
            status: res.status,
            object: json.object,
            route: res.headers.get('x-spillway-route'),
            requestId: res.headers.get('x-request-id'),
          }
        } catch (error) {
          return { blocked: String(error) }
        }
      },
      { url: stack.gatewayUrl, key: KEYS.degrade, body: chatBody() },
    )
  } finally {
    await page.close()
  }
}

describe('a browser page on another origin', () => {
  it('calls the gateway when its origin is allowed, and reads the x-spillway-* headers', async () => {
    const answer = await callFromPage(allowed.origin)
    expect(answer).toMatchObject({ status: 200, object: 'chat.completion', route: 'primary' })
    expect(answer).toHaveProperty('requestId', expect.stringMatching(/.+/))
  })

  it('cannot when its origin is not allowed: the preflight fails and the request never runs', async () => {
    const backend = stack.fleet.backends[0]
    const before = backend?.state().totals.requests
    expect(await callFromPage(other.origin)).toEqual({ blocked: 'TypeError: Failed to fetch' })
    expect(backend?.state().totals.requests).toBe(before)
  })
})
