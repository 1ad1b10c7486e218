import type { Hono } from 'hono'
import type { CapacityStore } from '../shared/capacity/capacity-store.ts'
import type { AppEnv } from '../shared/http/app-deps.ts'
import { type Percentiles, percentiles } from './lib/stats.ts'
import { BLOCKER_PREFIX, type LeaseRecorder } from './support/lease-events.ts'

export interface HeldStreamsMeasured {
  readonly requests: number
  /** Streams that ended with `[DONE]` and no error event. */
  readonly completed: number
  /** k-th slot freed → k-th held stream's first `data:` chunk at the client. */
  readonly slotFreedToFirstChunkMs: Percentiles
  /** The holding gateway's own lease → that stream's first chunk: claim write + the backend's TTFT. */
  readonly leaseToFirstChunkMs: Percentiles
}

/**
 * Held streams on a saturated fleet: `stream: true` requests with no `Prefer`
 * header while every slot is held, so each one answers `200 text/event-stream`
 * at once and waits; then the slots free and each held gateway runs its own job,
 * streaming live. Measures how soon a freed slot becomes chunks at the client.
 */
export async function measureHeldStreams(o: {
  app: Hono<AppEnv>
  capacity: CapacityStore
  backendId: string
  slots: number
  requests: number
  model: string
  key: string
  leases: LeaseRecorder
}): Promise<HeldStreamsMeasured> {
  const blockers: string[] = []
  for (let i = 0; i < o.slots; i++) {
    const leaseId = `${BLOCKER_PREFIX}held-${i}-${Date.now()}`
    const now = Date.now()
    const held = await o.capacity.acquire({
      backendId: o.backendId,
      leaseId,
      now,
      expiresAt: now + 600_000,
      staleBefore: 0,
      reclaim: [],
    })
    if (!held.ok) throw new Error('could not hold the slots before the held streams')
    blockers.push(held.leaseId)
  }
  const responses = await Promise.all(
    Array.from({ length: o.requests }, (_, i) =>
      o.app.request('http://gateway/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${o.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: o.model,
          messages: [{ role: 'user', content: `held ${i}` }],
          max_tokens: 16,
          stream: true,
        }),
      }),
    ),
  )
  const reads = responses.map(async (res) => {
    const reader = res.body?.getReader()
    const decoder = new TextDecoder()
    let text = ''
    let firstChunkAt: number | undefined
    for (;;) {
      const next = reader ? await reader.read() : { done: true as const, value: undefined }
      if (next.done) break
      text += decoder.decode(next.value, { stream: true })
      if (firstChunkAt === undefined && text.includes('data: {')) firstChunkAt = performance.now()
    }
    return { firstChunkAt, ok: text.includes('data: [DONE]') && !text.includes('"error"') }
  })
  // Every held request is waiting in its gateway's line before a slot frees.
  await new Promise((resolve) => setTimeout(resolve, 200))
  o.leases.reset()
  for (const leaseId of blockers) await o.capacity.release({ backendId: o.backendId, leaseId })
  const streams = await Promise.all(reads)

  const events = o.leases.events()
  const freed = events.filter((e) => e.kind === 'release').map((e) => e.at)
  const acquired = events.filter((e) => e.kind === 'acquire' && e.owner === 'job').map((e) => e.at)
  const firsts = streams.flatMap((s) => (s.firstChunkAt === undefined ? [] : [s.firstChunkAt]))
  const sort = (values: number[]) => [...values].sort((a, b) => a - b)
  const pairs = (from: number[], to: number[]) => {
    const a = sort(from)
    const b = sort(to)
    return b.slice(0, a.length).map((at, k) => Math.max(0, at - (a[k] ?? at)))
  }
  return {
    requests: o.requests,
    completed: streams.filter((s) => s.ok).length,
    slotFreedToFirstChunkMs: percentiles(pairs(freed, firsts)),
    leaseToFirstChunkMs: percentiles(pairs(acquired, firsts)),
  }
}
