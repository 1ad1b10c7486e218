import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LocalStack } from '../../../local/local-stack.ts'
import { burst } from '../../../scripts/lib/burst.ts'
import { CHROMIUM_PATH, chromiumAvailable, launchChromium } from '../../../scripts/lib/chromium.ts'
import { MODEL, startTestStack, testConfig } from '../../support/gateway-stack.ts'

/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core)
 * on a local stack, during a burst over capacity: pools, queue and routes must
 * change on the page, with no console error. Skipped only without Chromium.
 */
const QUEUE_KEY = 'sk-test-dashboard-queue'
const haveChromium = chromiumAvailable()
if (!haveChromium)
  console.warn(`dashboard browser test skipped: no Chromium at ${CHROMIUM_PATH} (.ci/run installs it)`)

describe.runIf(haveChromium)('GET /dashboard in Chromium', () => {
  let stack: LocalStack
  let browser: Browser
  let page: Page
  const problems: string[] = []

  beforeAll(async () => {
    stack = await startTestStack({
      fleet: 'h20=2x2,cpu=1x1',
      speed: 0.5,
      workers: true,
      openDashboard: true,
      // The test config's 2 s staleness turns a heartbeat late on a loaded machine into 503s.
      config: testConfig({ heartbeatStaleSeconds: 15 }),
      tenants: [{ key: QUEUE_KEY, policy: { id: 'queuer', mayDegrade: true, mayQueue: true } }],
    })
    await stack.ready()
    browser = await launchChromium()
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text())
    })
    page.on('pageerror', (error) => problems.push(error.message))
  }, 90_000)
  afterAll(async () => {
    await browser?.close()
    await stack?.stop()
  })

  it('shows pools, queue and routes changing during a burst, with no console error', async () => {
    await page.goto(`${stack.gatewayUrl}/dashboard`)
    await page.waitForSelector('[data-backend="h20-1"]', { timeout: 15_000 })
    expect(await page.locator('[data-pool]').count()).toBe(2)
    expect(await page.locator('#queues [data-lane]').count()).toBeGreaterThan(0)

    const answers = burst({
      gatewayUrl: stack.gatewayUrl,
      key: QUEUE_KEY,
      model: MODEL,
      count: 24,
      maxTokens: 60,
    })
    // While it runs: slots leased on the page, and work waiting in the queue.
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('[data-backend]')].some(
          (b) => Number(b.getAttribute('data-leased')) > 0,
        ),
      undefined,
      { timeout: 15_000 },
    )
    await page.waitForFunction(
      () => Number(document.querySelector('#queues')?.getAttribute('data-depth')) > 0,
      undefined,
      {
        timeout: 15_000,
      },
    )
    // The queue's oldest job has an age next to the depth while the backlog lasts.
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('#queues [data-lane]')].some(
          (lane) =>
            Number(lane.getAttribute('data-oldest-age-ms') || -1) >= 0 &&
            lane.textContent?.includes('oldest'),
        ),
      undefined,
      { timeout: 15_000 },
    )
    const done = await answers
    expect(done.every((a) => a.status === 200)).toBe(true)
    // Afterwards: the routes the burst took appear as series, and decisions name why.
    const routes = new Set(done.map((a) => a.route))
    for (const route of routes) {
      await page.waitForSelector(`#rates [data-route="${route}"]`, { timeout: 10_000 })
    }
    expect(routes.has('primary')).toBe(true)
    expect(routes.size).toBeGreaterThan(1)
    await page.waitForSelector('#decisions tr[data-outcome="saturated"]', { timeout: 10_000 })
    await page.waitForSelector('#outcomes [data-outcome="succeeded"]', { timeout: 10_000 })
    expect(problems).toEqual([])
  }, 120_000)
})
