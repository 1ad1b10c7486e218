import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { startLocalStack } from '../local/local-stack.ts'
import { burst } from './lib/burst.ts'
import { CHROMIUM_PATH, chromiumAvailable, launchChromium } from './lib/chromium.ts'

// `node scripts/screenshot-dashboard.ts [out.png]`: the README's dashboard picture, taken mid-burst
// on a local stack with the default fleet, through the same Chromium as the browser test.
const out = process.argv[2] ?? 'docs/images/dashboard.png'
const MODEL = 'deepseek-r1-distill-llama-8b'
const KEY = 'sk-screenshot'
if (!chromiumAvailable()) {
  console.error(`no Chromium at ${CHROMIUM_PATH}`)
  process.exit(1)
}

const stack = await startLocalStack({
  fleet: 'h20=2x4,cpu=1x2',
  adminKey: 'sk-screenshot-admin',
  agentKey: 'sk-screenshot-agent',
  backendApiKey: 'sk-screenshot-backend',
  workers: true,
  openDashboard: true,
  heartbeatIntervalMs: 500,
  tenants: [{ key: KEY, policy: { id: 'demo', mayDegrade: true, mayQueue: true, defaultWaitSeconds: 60 } }],
})
const browser = await launchChromium()
try {
  await stack.ready()
  const page = await browser.newPage({ viewport: { width: 1360, height: 980 }, deviceScaleFactor: 1 })
  await page.goto(`${stack.gatewayUrl}/dashboard`)
  await page.waitForSelector('[data-backend]')
  const base = { gatewayUrl: stack.gatewayUrl, key: KEY, model: MODEL }
  // Steady load first, so the rate graph has a history, then a burst well over the 10 slots.
  for (let i = 0; i < 6; i++) {
    void burst({ ...base, count: 3, maxTokens: 40 })
    await new Promise((resolve) => setTimeout(resolve, 700))
  }
  const answers = burst({ ...base, count: 40, maxTokens: 160 })
  // The moment the picture is for: every H20 slot leased, CPU taking fallbacks, a backlog queued.
  await page.waitForSelector('#rates [data-route="fallback"]')
  await page
    .waitForFunction(
      () =>
        document.querySelector('[data-pool="h20"]')?.getAttribute('data-leased') === '8' &&
        Number(document.querySelector('#queues')?.getAttribute('data-depth')) > 4,
      undefined,
      { timeout: 20_000, polling: 100 },
    )
    .catch(() => console.warn('H20 never showed full with a backlog; taking the picture anyway'))
  await mkdir(dirname(out), { recursive: true })
  await page.screenshot({ path: out, fullPage: true })
  console.log(`wrote ${out}`)
  await answers.catch((error: unknown) => console.warn(`burst ended with ${String(error)}`))
} finally {
  await browser.close()
  await stack.stop()
}
