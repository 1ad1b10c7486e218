import type { LeaseEvent } from '../support/lease-events.ts'
import { percentiles, ratio, round, roundPercentiles } from './stats.ts'

/**
 * From the lease events (ms since the slots were freed): slots freed are the
 * blockers' releases and every job's release; the k-th job lease took the k-th
 * freed slot, so their difference is how long that free slot waited.
 */
export function drainFigures(o: { events: readonly LeaseEvent[]; slots: number; jobs: number }) {
  const acquires = o.events.filter((e) => e.kind === 'acquire' && e.owner === 'job').map((e) => e.at)
  const jobReleases = o.events.filter((e) => e.kind === 'release' && e.owner === 'job').map((e) => e.at)
  const frees = o.events.filter((e) => e.kind === 'release').map((e) => e.at)
  acquires.sort((a, b) => a - b)
  frees.sort((a, b) => a - b)
  const waits = acquires.map((at, k) => Math.max(0, at - (frees[k] ?? at)))
  const holds = o.events
    .filter((e) => e.kind === 'release' && e.owner === 'job' && e.heldMs !== undefined)
    .map((e) => e.heldMs ?? 0)
  const serviceMs = holds.reduce((a, b) => a + b, 0) / Math.max(1, holds.length)
  const drainMs = Math.max(0, ...jobReleases)
  const idealDrainMs = (o.jobs * serviceMs) / o.slots
  const lastStart = Math.max(0, ...acquires)

  // Busy slots over time, from the start of the drain: blockers first, then job leases.
  const steps = o.events
    .filter((e) => e.at >= -1)
    .map((e) => ({ at: Math.max(0, e.at), delta: e.kind === 'acquire' ? 1 : -1, job: e.owner === 'job' }))
    .sort((a, b) => a.at - b.at)
  let busy = o.slots
  let running = 0
  let started = 0
  let idleArea = 0
  let last = 0
  const timeline: { ms: number; queued: number; running: number }[] = [{ ms: 0, queued: o.jobs, running: 0 }]
  for (const step of steps) {
    const until = Math.min(step.at, lastStart)
    if (until > last) idleArea += (o.slots - busy) * (until - last)
    last = Math.max(last, until)
    busy += step.delta
    if (step.job) running += step.delta
    if (step.job && step.delta > 0) started++
    if (step.job) timeline.push({ ms: round(step.at, 1), queued: o.jobs - started, running })
  }
  return {
    serviceMs: round(serviceMs, 1),
    slotFreeToStartMs: roundPercentiles(percentiles(waits.slice(o.slots)), 1),
    crossProcessFreeToStartMs: roundPercentiles(percentiles(waits.slice(0, o.slots)), 1),
    drainMs: round(drainMs, 0),
    idealDrainMs: round(idealDrainMs, 0),
    drainRatio: ratio(drainMs, idealDrainMs),
    idleShareWhileBacklog: lastStart > 0 ? round(idleArea / (o.slots * lastStart), 4) : 0,
    timeline: downsample(timeline, 240),
  }
}

function downsample<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points]
  const every = points.length / max
  return Array.from({ length: max }, (_, i) => points[Math.floor(i * every)]!).concat(points.at(-1)!)
}
