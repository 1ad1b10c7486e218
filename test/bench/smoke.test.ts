import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BenchResult } from '../../bench/lib/result.ts'
import { runBench } from '../../bench/run.ts'

// Every benchmark in miniature, end to end: the JSON has its shape and its numbers are
// finite. No figure is compared with any threshold: this checks the suite, not the machine.
let dir: string
let result: BenchResult

/** Paths of every number in `value` that is not finite (NaN and Infinity become null in JSON). */
function nonFinite(value: unknown, path = '$'): string[] {
  if (value === null) return [path]
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [path]
  if (Array.isArray(value)) return value.flatMap((v, i) => nonFinite(v, `${path}[${i}]`))
  if (typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => nonFinite(v, `${path}.${k}`))
  return []
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spillway-bench-smoke-'))
  await runBench({ mode: 'smoke', outDir: dir, quiet: true })
  result = JSON.parse(await readFile(join(dir, 'latest.json'), 'utf8')) as BenchResult
}, 180_000)
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('npm run bench (smoke)', () => {
  it('records the machine, the Node version and the commit', () => {
    expect(result.schema).toBe(1)
    expect(result.mode).toBe('smoke')
    expect(result.machine.cpus).toBeGreaterThan(0)
    expect(result.machine.node).toMatch(/^v\d+/)
    expect(result.machine.commit).toMatch(/^([0-9a-f]{40}|unknown)$/)
  })

  it('writes only finite numbers, except ratios a busy machine may leave undefined', () => {
    // A ratio to a figure that came out ≤ 0 (a throughput of none, Portkey adding no latency) has no value.
    const bad = nonFinite(result).filter(
      (path) =>
        !path.startsWith('$.throughput.ratio') &&
        !path.startsWith('$.throughputAtLooserSlo.ratio') &&
        !/\.addedP50VsPortkey\./.test(path),
    )
    expect(bad).toEqual([])
  })

  it('measures overhead for every payload and concurrency, baseline and both stores, without failures', () => {
    const cells = result.overhead?.cells ?? []
    expect(cells.map((c) => `${c.payload}/${c.concurrency}`)).toEqual([
      'instant/1',
      'instant/4',
      'paced/1',
      'paced/4',
    ])
    for (const cell of cells) {
      for (const target of [cell.baseline, cell.memory, cell.dynamo]) {
        expect(target.failures).toBe(0)
        expect(target.latency.n).toBeGreaterThan(0)
      }
      if (cell.payload === 'paced') expect(cell.added.dynamo.ttftP50).toEqual(expect.any(Number))
    }
  })

  it('measures CPU per request of each gateway process, Portkey included, and the bare emulator round trip', () => {
    const cpu = result.gatewayCpu
    for (const gateway of ['memory', 'dynamo', 'portkey'] as const) {
      expect(cpu?.cpuMsPerRequest[gateway].median).toBeGreaterThan(0)
      expect(cpu?.failures[gateway]).toBe(0)
    }
    expect(cpu?.ratioToPortkey.dynamo).toBeGreaterThan(0)
    expect(result.emulatorRoundTrip?.getItemMs.n).toBeGreaterThan(0)
    expect(result.emulatorRoundTrip?.updateItemMs.p50).toBeGreaterThan(0)
    const instant = result.overhead?.cells.find((c) => c.payload === 'instant')
    expect(instant?.portkey?.failures).toBe(0)
    expect(instant?.addedP50VsPortkey?.dynamo).toEqual(expect.any(Number))
    // The figure issue 11 sets its goal on: added p50 at c=1 over one UpdateItem round trip.
    const floor = result.latencyFloor
    expect(floor?.goalMs).toBe(0.5)
    // Measured on the gateway releasing every lease at once: the warm one writes nothing on most requests.
    expect(floor?.overOneWriteMs).toBeCloseTo(
      (floor?.releasedAtOnceAddedP50Ms ?? Number.NaN) - (floor?.updateItemP50Ms ?? 0),
      2,
    )
  })

  it('searches the sustainable rate at the strict and at the looser p99 bound', () => {
    expect(result.throughput?.sloP99Ms).toBe(10)
    expect(result.throughputAtLooserSlo?.sloP99Ms).toBe(50)
    for (const t of [result.throughput, result.throughputAtLooserSlo]) {
      expect(t?.rps.baseline.rounds.length).toBeGreaterThan(0)
      expect(t?.gcPauseMs.dynamo.p99).toBeGreaterThanOrEqual(0)
    }
  })

  it('counts DynamoDB writes per routed request and their capacity', () => {
    const steady = result.dynamo?.steady
    expect(steady?.routed).toBeGreaterThan(0)
    expect(steady?.perRoutedRequest.writes).toBeGreaterThanOrEqual(2)
    expect(steady?.perRoutedRequest.writeUnits).toBeGreaterThan(0)
    expect(result.dynamo?.writeUnitsBySlotsHeld.length).toBeGreaterThan(0)
  })

  it('times the router for each fleet size, and bundles every Lambda entry point', () => {
    expect(result.router?.sizes.map((s) => s.backends)).toEqual([10, 100])
    const functions = result.lambda?.functions ?? []
    expect(functions.length).toBeGreaterThan(0)
    for (const fn of functions) {
      expect(fn.error).toBeUndefined()
      expect(fn.bundleBytes).toBeGreaterThan(0)
    }
  })

  it('prices every scenario and says when the overflow was not measured', () => {
    expect(result.cost?.scenarios.length).toBeGreaterThan(0)
    const overflow = result.overflow
    if (overflow && 'skipped' in overflow) expect(overflow.skipped).not.toBe('')
    else {
      expect(overflow?.lost).toBe(0)
      // Held streams: every one completes live, and the slot-freed → first-chunk figure is measured.
      expect(overflow?.heldStreams.completed).toBe(overflow?.heldStreams.requests)
      expect(overflow?.heldStreams.slotFreedToFirstChunkMs.n).toBe(overflow?.heldStreams.requests)
    }
  })

  it('writes the charts and the profile summary next to the JSON', async () => {
    expect(result.charts).toEqual(expect.arrayContaining(['latency-instant.svg', 'latency-paced.svg']))
    for (const chart of result.charts) {
      expect(await readFile(join(dir, chart), 'utf8')).toMatch(/^<svg /)
    }
    expect(await readFile(join(dir, 'profile.md'), 'utf8')).toContain('# CPU profile of the gateway hot path')
  })
})
