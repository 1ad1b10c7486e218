import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LocalStack } from '../../../local/local-stack.ts'
import { PROMETHEUS_METRICS as NAMES } from '../../../shared/observability/metric-names.ts'
import { ADMIN_KEY, chatBody, KEYS, MODEL, postChat, startTestStack } from '../../support/gateway-stack.ts'
import { histogramCounts, samples, scrape } from '../../support/prometheus.ts'

/**
 * `GET /metrics` on the local stack, over HTTP, parsed by a Prometheus text
 * parser: its counters must agree exactly with what this test sent, tallied
 * from the answers' own status and `x-spillway-*` headers.
 */
describe('GET /metrics', () => {
  let stack: LocalStack

  beforeAll(async () => {
    stack = await startTestStack({ fleet: 'h20=1x2,cpu=1x1' })
    await stack.ready()
  }, 60_000)
  afterAll(() => stack?.stop())

  it('needs the admin key unless the stack opened it explicitly', async () => {
    expect((await fetch(`${stack.gatewayUrl}/metrics`)).status).toBe(401)
    const wrong = await fetch(`${stack.gatewayUrl}/metrics`, {
      headers: { authorization: `Bearer ${KEYS.strict}` },
    })
    expect(wrong.status).toBe(401)
    expect((await wrong.json()).error.type).toBe('authentication_error')
    expect((await fetch(`${stack.gatewayUrl}/dashboard/data`)).status).toBe(401)
  })

  it('counts every chat completion by model, route, hardware and status, exactly as answered', async () => {
    const sent = new Map<string, number>()
    const tally = (res: Response, model: string) => {
      const key = [
        `hardware=${res.headers.get('x-spillway-hardware') ?? 'none'}`,
        `model=${model}`,
        `route=${res.headers.get('x-spillway-route') ?? 'none'}`,
        `status=${res.status}`,
      ].join(',')
      sent.set(key, (sent.get(key) ?? 0) + 1)
    }
    // A burst over capacity (2 h20 + 1 cpu slots): primaries, CPU fallbacks, and 429s for the strict key.
    const burst = await Promise.all([
      ...Array.from({ length: 6 }, () =>
        postChat(stack.gatewayUrl, KEYS.degrade, chatBody({ max_tokens: 24 })),
      ),
      ...Array.from({ length: 4 }, () =>
        postChat(stack.gatewayUrl, KEYS.strict, chatBody({ max_tokens: 24 })),
      ),
    ])
    for (const res of burst) {
      await res.arrayBuffer()
      tally(res, MODEL)
    }
    const unknownModel = await postChat(stack.gatewayUrl, KEYS.degrade, chatBody({ model: 'no-such-model' }))
    await unknownModel.arrayBuffer()
    tally(unknownModel, 'unknown')
    const stream = await postChat(stack.gatewayUrl, KEYS.degrade, chatBody({ stream: true }))
    await stream.text()
    tally(stream, MODEL)
    const noKey = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, { method: 'POST', body: '{}' })
    await noKey.arrayBuffer()
    tally(noKey, 'none')
    expect([...sent.keys()].some((k) => k.includes('route=primary'))).toBe(true)

    const { families, text } = await scrape(stack.gatewayUrl, ADMIN_KEY)
    expect(Object.fromEntries(samples(families, NAMES.requests))).toEqual(Object.fromEntries(sent))

    const total = [...sent.values()].reduce((a, b) => a + b, 0)
    const durations = histogramCounts(text, NAMES.requestDuration)
    expect([...durations.values()].reduce((a, b) => a + b, 0)).toBe(total)
    // Every answer with a body had a first byte.
    expect([...histogramCounts(text, NAMES.timeToFirstToken).values()].reduce((a, b) => a + b, 0)).toBe(total)
  })

  it('reports slots per backend and backend state from the fleet', async () => {
    const { families } = await scrape(stack.gatewayUrl, ADMIN_KEY)
    const slots = samples(families, NAMES.slots)
    expect(slots.get('backend=h20-1,hardware=h20,state=free')).toBe(2)
    expect(slots.get('backend=h20-1,hardware=h20,state=leased')).toBe(0)
    expect(slots.get('backend=cpu-1,hardware=cpu,state=free')).toBe(1)
    const state = samples(families, NAMES.backendState)
    expect(state.get('backend=h20-1,hardware=h20')).toBe(0)
    const types = Object.fromEntries(families.map((f) => [f.name, f.type]))
    expect(types).toMatchObject({
      [NAMES.requests]: 'COUNTER',
      [NAMES.requestDuration]: 'HISTOGRAM',
      [NAMES.timeToFirstToken]: 'HISTOGRAM',
      [NAMES.queueWait]: 'HISTOGRAM',
      [NAMES.slots]: 'GAUGE',
      [NAMES.queueDepth]: 'GAUGE',
      [NAMES.backendState]: 'GAUGE',
      [NAMES.capacityWanted]: 'GAUGE',
      [NAMES.jobs]: 'COUNTER',
    })
  })

  it('shows the capacity-wanted signal set through its port', async () => {
    stack.observability.capacityWanted(MODEL, 3)
    const { families } = await scrape(stack.gatewayUrl, ADMIN_KEY)
    expect(samples(families, NAMES.capacityWanted).get(`model=${MODEL}`)).toBe(3)
    stack.observability.capacityWanted(MODEL, 0)
  })
})
