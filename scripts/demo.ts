import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { type LocalStack, startLocalStack } from '../local/local-stack.ts'
import type { DashboardData } from '../shared/observability/dashboard-data.ts'
import { PROMETHEUS_METRICS } from '../shared/observability/metric-names.ts'
import { type BurstAnswer, burst, steadyLoad } from './lib/burst.ts'
import { DemoDisplay, liveLines } from './lib/demo-display.ts'

// `npm run demo`: the spill, live. Steady load on H20, a burst that fills it, degradable requests
// moving to CPU, the rest held in the queue and drained as slots free, then one backend killed
// and routed around; a summary checked against /metrics. `--fast` shortens it (tests).
const { values: args } = parseArgs({ options: { fast: { type: 'boolean' }, port: { type: 'string' } } })
const fast = args.fast === true || process.env.SPILLWAY_DEMO_FAST === '1'
const scale = fast ? 0.3 : 1
const MODEL = 'deepseek-r1-distill-llama-8b'
const KEY = `sk-demo-${randomBytes(12).toString('base64url')}`
const FLEET = 'h20=2x4,cpu=1x2'
const maxTokens = fast ? 32 : 120
const display = new DemoDisplay()
const startedAt = performance.now()

display.note(`Spillway demo${fast ? ' (fast)' : ''}: starting the local stack (fleet ${FLEET})…`)
const stack = await startStack(Number(args.port ?? process.env.PORT ?? 8790))
const url = stack.gatewayUrl
display.note(`\n  Open ${url}/dashboard in a browser while it runs.\n`)

const answers: BurstAnswer[] = []
/** Answers recorded before the kill; the ones after it show where traffic went. */
let beforeKill = 0
const byRoute = new Map<string, number>()
let inFlight = 0
let phase = 'starting'
let latest: DashboardData | undefined
const load = { gatewayUrl: url, key: KEY, model: MODEL, maxTokens, holdSeconds: 90 }
const tracked = async (work: Promise<BurstAnswer[]>, count: number) => {
  inFlight += count
  const done = await work
  inFlight -= count
  return done
}
const record = (done: readonly BurstAnswer[]) => {
  for (const a of done) {
    answers.push(a)
    const key = a.status === 200 ? `${a.route}/${a.hardware}` : `HTTP ${a.status}`
    byRoute.set(key, (byRoute.get(key) ?? 0) + 1)
  }
}
const ticker = setInterval(() => {
  void fetch(`${url}/dashboard/data`)
    .then(async (res) => {
      latest = (await res.json()) as DashboardData
    })
    .catch(() => undefined)
  display.draw(
    liveLines({ phase, elapsedMs: performance.now() - startedAt, data: latest, answers: byRoute, inFlight }),
  )
}, 250)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms * scale))

try {
  await stack.ready()
  phase = 'steady load: 4 clients, H20 has room'
  display.note('1. steady load on H20 (4 clients; 8 H20 slots)')
  let steady = steadyLoad({ ...load, concurrency: 4 })
  inFlight += 4
  await sleep(10_000)

  phase = 'burst: 32 requests at once, H20 fills, CPU takes degradable ones, the rest queue'
  display.note('2. burst of 32: H20 full → degradable requests on CPU → the rest held in the queue')
  record(await tracked(burst({ ...load, count: 32, maxTokens: maxTokens * 2 }), 32))
  phase = 'drained: the queue emptied as slots freed'
  display.note('3. the queue drained as slots freed; every held request answered')
  await sleep(3_000)

  // Quiesce first so the kill hits no request mid-answer: what it shows is new work routed around.
  record(await steady.stop())
  inFlight -= 4
  beforeKill = answers.length
  const victim = stack.fleet.backends.find((b) => b.id === 'h20-2')
  victim?.crash()
  display.note('4. h20-2 killed: its circuit opens, its heartbeat goes stale, traffic goes to h20-1')
  phase = 'h20-2 killed: steady load routed around it'
  steady = steadyLoad({ ...load, concurrency: 4 })
  inFlight += 4
  await sleep(10_000)
  record(await steady.stop())
  inFlight -= 4
  phase = 'done'
  await new Promise((resolve) => setTimeout(resolve, 600))
  clearInterval(ticker)
  const ok = await summarize()
  process.exitCode = ok ? 0 : 1
} finally {
  clearInterval(ticker)
  await stack.stop()
}

async function startStack(port: number): Promise<LocalStack> {
  const options = {
    fleet: FLEET,
    speed: fast ? 0.1 : 1,
    adminKey: `sk-demo-admin-${randomBytes(12).toString('base64url')}`,
    agentKey: `sk-demo-agent-${randomBytes(12).toString('base64url')}`,
    backendApiKey: `sk-demo-backend-${randomBytes(12).toString('base64url')}`,
    workers: true,
    openDashboard: true,
    heartbeatIntervalMs: 500,
    tenants: [
      {
        key: KEY,
        policy: {
          id: 'demo',
          mayDegrade: true,
          mayQueue: true,
          defaultWaitSeconds: 90,
          priority: 'interactive' as const,
        },
      },
    ],
  }
  return startLocalStack({ ...options, port }).catch(() => startLocalStack({ ...options, port: 0 }))
}

async function summarize(): Promise<boolean> {
  const answered = answers.filter((a) => a.status === 200)
  const lost = answers.length - answered.length
  const queued = answered.filter((a) => a.route === 'queued')
  const waits = queued.map((a) => a.queueMs).filter((ms): ms is number => ms !== undefined)
  const waitLabel = waits.length === queued.length ? 'queue wait' : 'held (queue wait + generation)'
  const waitSample = waits.length === queued.length ? waits : queued.map((a) => a.ms)

  const metrics = parsePrometheusTextFormat(await (await fetch(`${url}/metrics`)).text())
  const fromMetrics = new Map<string, number>()
  for (const sample of metrics.find((f) => f.name === PROMETHEUS_METRICS.requests)?.metrics ?? []) {
    const labels = sample.labels ?? {}
    const key = labels.status === '200' ? `${labels.route}/${labels.hardware}` : `HTTP ${labels.status}`
    fromMetrics.set(key, (fromMetrics.get(key) ?? 0) + Number(sample.value))
  }
  const same = JSON.stringify([...byRoute].sort()) === JSON.stringify([...fromMetrics].sort())
  const outcomes = latest?.jobs.outcomes ?? {}
  const afterKill = new Map<string, number>()
  for (const a of answers.slice(beforeKill)) afterKill.set(a.backend, (afterKill.get(a.backend) ?? 0) + 1)

  const lines = [
    '',
    `Summary (${((performance.now() - startedAt) / 1000).toFixed(0)} s)`,
    `  requests      ${answers.length} sent, ${answered.length} answered 200, ${lost} lost`,
    ...[...byRoute]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, n]) => `  ${key.padEnd(14)}${String(n).padStart(4)}`),
    `  ${waitLabel}   p50 ${fmt(percentile(waitSample, 0.5))}, p99 ${fmt(percentile(waitSample, 0.99))} over ${waitSample.length} queued answers`,
    `  after kill    ${[...afterKill].map(([b, n]) => `${n} on ${b}`).join(', ')}${afterKill.has('h20-2') ? '' : ' (none on h20-2)'}`,
    `  jobs          ${
      Object.entries(outcomes)
        .map(([s, n]) => `${n} ${s}`)
        .join(', ') || 'none'
    }`,
    same
      ? '  /metrics      spillway_requests_total matches these counts'
      : `  /metrics      MISMATCH: ${JSON.stringify(Object.fromEntries(fromMetrics))}`,
    lost === 0
      ? '  nothing lost: every request got its answer'
      : `  LOST: ${lost} requests without an answer`,
  ]
  display.note(lines.join('\n'))
  return lost === 0 && same && !afterKill.has('h20-2')
}

function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]
}

function fmt(ms: number | undefined): string {
  return ms === undefined ? '—' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`
}
