import { describe, expect, it } from 'vitest'
import type { BackendRecord } from '../../../shared/backends/backend-record.ts'
import type {
  CapacityStore,
  SnapshotPart,
  SnapshotPartRead,
} from '../../../shared/capacity/capacity-store.ts'
import { CapacityView } from '../../../shared/router/capacity-view.ts'

const T0 = 1_800_000_000_000

function backend(id: string, leases: Record<string, number> = {}): BackendRecord {
  return {
    id,
    url: 'http://127.0.0.1:9',
    hardware: 'h20',
    models: ['m'],
    maxConcurrency: 4,
    state: 'active',
    registeredAt: T0,
    heartbeatAt: T0,
    load: { running: 0, waiting: 0, kvCacheUsage: 0 },
    leases,
  }
}

/**
 * A table of backends read by parts, each backend in the segment its number falls in,
 * each read costing one unit per backend: a stand-in for DynamoDB's parallel scan.
 */
class PartedStore {
  readonly table = new Map<string, BackendRecord>()
  readonly reads: SnapshotPart[] = []
  #known = new Set<string>()
  #cycle = { segments: 0, read: new Set<number>(), seen: new Set<string>() }

  snapshot = async () => [...this.table.values()]

  readPart = async (part: SnapshotPart): Promise<SnapshotPartRead> => {
    this.reads.push(part)
    const inPart = [...this.table.values()].filter(
      (b) => Number(b.id.slice(1)) % part.segments === part.segment,
    )
    if (this.#cycle.segments !== part.segments)
      this.#cycle = { segments: part.segments, read: new Set(), seen: new Set() }
    this.#cycle.read.add(part.segment)
    for (const b of inPart) {
      this.#cycle.seen.add(b.id)
      this.#known.add(b.id)
    }
    const goneIds: string[] = []
    if (this.#cycle.read.size === part.segments) {
      for (const id of this.#known) if (!this.#cycle.seen.has(id)) goneIds.push(id)
      for (const id of goneIds) this.#known.delete(id)
      this.#cycle = { segments: 0, read: new Set(), seen: new Set() }
    }
    return { backends: inPart, goneIds, readUnits: inPart.length }
  }
}

function viewOf(store: PartedStore, options: { readUnitsPerSecond: number; maxPartAgeMs?: number }) {
  return new CapacityView({
    store: store as unknown as CapacityStore,
    maxAgeMs: 1_000,
    readUnitsPerSecond: options.readUnitsPerSecond,
    maxPartAgeMs: options.maxPartAgeMs ?? 10_000,
  })
}

describe('Class: CapacityView, rolling snapshot', () => {
  it('reads the whole table while it fits the budget', async () => {
    const store = new PartedStore()
    for (let i = 0; i < 5; i++) store.table.set(`b${i}`, backend(`b${i}`))
    const view = viewOf(store, { readUnitsPerSecond: 50 })

    for (let s = 0; s < 3; s++) await view.refresh(T0 + s * 1_000)

    expect(store.reads.map((r) => r.segments)).toEqual([1, 1, 1])
  })

  it('reads one segment per refresh once the table costs more, and sees every change within a cycle', async () => {
    const store = new PartedStore()
    for (let i = 0; i < 40; i++) store.table.set(`b${i}`, backend(`b${i}`))
    const view = viewOf(store, { readUnitsPerSecond: 10 })
    await view.refresh(T0)
    // Another process takes a slot on b7 and b8 is deregistered.
    store.table.set('b7', backend('b7', { other: T0 + 60_000 }))
    store.table.delete('b8')

    for (let s = 1; s <= 4; s++) await view.refresh(T0 + s * 1_000)
    const seen = await view.backends(T0 + 4_000)

    expect(store.reads).toEqual([
      { segment: 0, segments: 1 },
      { segment: 0, segments: 4 },
      { segment: 1, segments: 4 },
      { segment: 2, segments: 4 },
      { segment: 3, segments: 4 },
    ])
    expect(store.reads.slice(1).every((r) => r.segments * 10 >= 40)).toBe(true)
    expect(seen.find((b) => b.id === 'b7')?.leases).toEqual({ other: T0 + 60_000 })
    expect(seen.some((b) => b.id === 'b8')).toBe(false)
    expect(seen).toHaveLength(39)
  })

  it('reads the whole table again when its oldest part is older than the bound (a quiet instance)', async () => {
    const store = new PartedStore()
    for (let i = 0; i < 40; i++) store.table.set(`b${i}`, backend(`b${i}`))
    const view = viewOf(store, { readUnitsPerSecond: 10, maxPartAgeMs: 8_000 })
    await view.refresh(T0)
    await view.refresh(T0 + 1_000)

    await view.refresh(T0 + 20_000)

    expect(store.reads.map((r) => r.segments)).toEqual([1, 4, 1])
  })

  it('judges a part by when it was read, not by when its cycle ended', async () => {
    const store = new PartedStore()
    for (let i = 0; i < 40; i++) store.table.set(`b${i}`, backend(`b${i}`))
    const view = viewOf(store, { readUnitsPerSecond: 10, maxPartAgeMs: 8_000 })
    await view.refresh(T0)
    for (let s = 1; s <= 4; s++) await view.refresh(T0 + s * 1_000)

    // Segment 0 was read at T0 + 1 s: 8.5 s ago, past the bound, though its cycle ended at T0 + 4 s.
    await view.refresh(T0 + 9_500)

    expect(store.reads.map((r) => r.segments)).toEqual([1, 4, 4, 4, 4, 1])
  })

  it('never plans more segments than a cycle within the bound allows, whatever the budget', async () => {
    const store = new PartedStore()
    for (let i = 0; i < 100; i++) store.table.set(`b${i}`, backend(`b${i}`))
    const view = viewOf(store, { readUnitsPerSecond: 1, maxPartAgeMs: 5_000 })

    await view.refresh(T0)

    expect(view.readPlan.segments).toBe(5)
  })

  it('starts a new segment count from a whole read', async () => {
    const store = new PartedStore()
    for (let i = 0; i < 40; i++) store.table.set(`b${i}`, backend(`b${i}`))
    const view = viewOf(store, { readUnitsPerSecond: 10 })
    await view.refresh(T0)
    for (let i = 40; i < 80; i++) store.table.set(`b${i}`, backend(`b${i}`))

    for (let s = 1; s <= 5; s++) await view.refresh(T0 + s * 1_000)

    expect(store.reads.map((r) => `${r.segment}/${r.segments}`)).toEqual([
      '0/1',
      '0/4',
      '1/4',
      '2/4',
      '3/4',
      '0/1',
    ])
    expect(view.readPlan.segments).toBe(8)
    expect(await view.backends(T0 + 5_000)).toHaveLength(80)
  })
})
