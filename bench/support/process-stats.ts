/**
 * CPU and garbage-collection figures of a benchmark child process, answered
 * over its IPC channel (`{ type: 'stats' }` → `ProcessStats`), so the parent
 * reads them without adding anything to the request path it measures. Used by
 * the Spillway gateway child and, preloaded with `--import`, by the Portkey peer.
 */
import { PerformanceObserver } from 'node:perf_hooks'

export interface ProcessStats {
  readonly type: 'stats'
  /** process.cpuUsage(), µs. */
  readonly cpuUserMicros: number
  readonly cpuSystemMicros: number
  readonly rssBytes: number
  /** Garbage collections so far: how many, their total pause, and the longest since the last stats call. */
  readonly gcCount: number
  readonly gcTotalMs: number
  readonly gcMaxMsSinceLast: number
  /** Every pause since the last stats call, ms (at most `MAX_PAUSES`, the longest kept), for percentiles. */
  readonly gcPausesMsSinceLast: readonly number[]
}

/** A second of load collects a few hundred minor GCs; a cap keeps a forgotten reset from growing memory. */
const MAX_PAUSES = 20_000

/** Starts observing GC and answers `stats` messages on this process's IPC channel. */
export function answerStatsOverIpc(): void {
  // GC pauses stop the event loop: they are what a p99 at a modest rate is made of.
  const gc = { count: 0, totalMs: 0, maxMs: 0, pauses: [] as number[] }
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.count++
      gc.totalMs += entry.duration
      gc.maxMs = Math.max(gc.maxMs, entry.duration)
      if (gc.pauses.length < MAX_PAUSES) gc.pauses.push(entry.duration)
    }
  }).observe({ entryTypes: ['gc'] })
  process.on('message', (message: { type?: string }) => {
    if (message?.type !== 'stats') return
    const cpu = process.cpuUsage()
    const stats: ProcessStats = {
      type: 'stats',
      cpuUserMicros: cpu.user,
      cpuSystemMicros: cpu.system,
      rssBytes: process.memoryUsage.rss(),
      gcCount: gc.count,
      gcTotalMs: gc.totalMs,
      gcMaxMsSinceLast: gc.maxMs,
      gcPausesMsSinceLast: gc.pauses,
    }
    gc.maxMs = 0
    gc.pauses = []
    process.send?.(stats)
  })
}
