import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import { chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MemoryBackendStore } from '../../shared/capacity/memory-backend-store.ts'
import { DEFAULT_CONFIG, parseGatewayConfig } from '../../shared/config/gateway-config.ts'
import { createApp } from '../../shared/http/app.ts'
import { OPERATIONS } from '../../shared/http/openapi.ts'
import { hashApiKey } from '../../shared/tenants/api-keys.ts'
import { MemoryTenantStore } from '../../shared/tenants/memory-tenant-store.ts'
import { jobStoreStub, queueDepthStub } from './support/optional-ports.ts'

/** `GET /docs` in Debian's Chromium: the page renders every operation from /openapi.json, cleanly. */
const CHROMIUM = '/usr/bin/chromium'
let server: Server
let baseUrl: string

beforeAll(async () => {
  const store = new MemoryBackendStore()
  const app = createApp({
    config: parseGatewayConfig(DEFAULT_CONFIG),
    capacity: store,
    registry: store,
    tenants: new MemoryTenantStore(),
    backendClient: { chatCompletions: async () => new Response(null, { status: 500 }) },
    adminKeyHash: hashApiKey('sk-test-admin'),
    jobs: jobStoreStub,
    queueDepth: queueDepthStub,
  })
  server = createAdaptorServer({ fetch: app.fetch }) as Server
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

describe('GET /docs in Chromium', () => {
  // .ci/run installs Chromium when it is missing; a machine without it fails here rather than skipping.
  it('lists every operation with its parameters and schemas, with no console error', async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    })
    try {
      const page = await browser.newPage()
      const problems: string[] = []
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text())
      })
      page.on('pageerror', (error) => problems.push(error.message))
      await page.goto(`${baseUrl}/docs`)
      await page
        .locator('details.op')
        .nth(OPERATIONS.length - 1)
        .waitFor()

      expect(await page.locator('details.op').count()).toBe(OPERATIONS.length)
      const chat = page.locator('#postV1ChatCompletions')
      await chat.locator('summary').first().click()
      await expect.poll(() => chat.innerText()).toContain('x-spillway-webhook')
      expect(await chat.innerText()).toContain('"messages"')
      expect(problems).toEqual([])
    } finally {
      await browser.close()
    }
  }, 60_000)
})
