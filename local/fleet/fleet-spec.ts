import { ENGINES, type EngineName, isEngineName } from '../../shared/agent/engine-dialects.ts'
import { HARDWARE_CLASSES, type HardwareClass, isHardwareClass } from './hardware-profiles.ts'

/** One entry of a fleet spec: `count` backends of a class, each running `slots` sequences. */
export interface FleetSpecEntry {
  readonly hardware: HardwareClass
  readonly count: number
  readonly slots: number
  /** The model server the backends imitate (`@engine` suffix); vLLM when absent. */
  readonly engine?: EngineName
}

export class FleetSpecError extends Error {
  override name = 'FleetSpecError'
  readonly problems: readonly string[]

  constructor(spec: string, problems: readonly string[]) {
    super(
      `invalid fleet spec ${JSON.stringify(spec)}: ${problems.join('; ')} ` +
        `(expected class=backends x slots[@engine], e.g. "h20=2x4,cpu=1x2@llamacpp"; classes: ${HARDWARE_CLASSES.join(', ')}; engines: ${ENGINES.join(', ')})`,
    )
    this.problems = problems
  }
}

const MAX_BACKENDS_PER_ENTRY = 64
const MAX_SLOTS = 1024
const ENTRY = /^([a-z0-9]+)=(\d+)x(\d+)(?:@([a-z0-9]+))?$/

/**
 * Parses `h20=2x4,cpu=1x2@llamacpp` (class=backends x slots, optionally
 * `@engine` for the metric dialect the simulators speak; comma separated,
 * spaces ignored). A class may appear more than once; every problem is reported in
 * one {@link FleetSpecError}.
 *
 * @example
 * parseFleetSpec('h20=2x4,cpu=1x2')
 * // [{ hardware: 'h20', count: 2, slots: 4 }, { hardware: 'cpu', count: 1, slots: 2 }]
 */
export function parseFleetSpec(spec: string): FleetSpecEntry[] {
  const entries: FleetSpecEntry[] = []
  const problems: string[] = []
  const parts = spec.replace(/\s+/g, '').toLowerCase().split(',')
  if (parts.length === 1 && parts[0] === '') problems.push('it is empty')
  else {
    for (const [index, part] of parts.entries()) {
      const entry = parseEntry(part)
      if (typeof entry === 'string') problems.push(`entry ${index + 1} (${JSON.stringify(part)}): ${entry}`)
      else entries.push(entry)
    }
  }
  if (problems.length > 0) throw new FleetSpecError(spec, problems)
  return entries
}

function parseEntry(part: string): FleetSpecEntry | string {
  const match = ENTRY.exec(part)
  if (!match) return 'not of the form class=NxM'
  const [, hardware = '', countText = '', slotsText = '', engine] = match
  if (!isHardwareClass(hardware)) return `unknown hardware class "${hardware}"`
  if (engine !== undefined && !isEngineName(engine)) return `unknown engine "${engine}"`
  const count = Number(countText)
  const slots = Number(slotsText)
  if (count < 1 || count > MAX_BACKENDS_PER_ENTRY) return `backends must be 1..${MAX_BACKENDS_PER_ENTRY}`
  if (slots < 1 || slots > MAX_SLOTS) return `slots must be 1..${MAX_SLOTS}`
  return engine === undefined ? { hardware, count, slots } : { hardware, count, slots, engine }
}

/** The canonical text of a parsed spec (parse ∘ format is the identity). */
export function formatFleetSpec(entries: readonly FleetSpecEntry[]): string {
  return entries
    .map(
      (entry) => `${entry.hardware}=${entry.count}x${entry.slots}${entry.engine ? `@${entry.engine}` : ''}`,
    )
    .join(',')
}
