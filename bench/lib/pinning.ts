import { execFileSync } from 'node:child_process'
import { cpus } from 'node:os'

/**
 * Which CPUs each side gets. The gateway under test gets the last core to
 * itself ("requests per second on one core"); the load generator, the simulated
 * backends and the emulators share the rest. Without `taskset` or with a single
 * core nothing is pinned, and the JSON says so.
 */
export interface CpuPlan {
  readonly pinned: boolean
  readonly gatewayCore?: number
  /** e.g. `0` or `0-2`. */
  readonly othersCpuList?: string
}

export function planCpus(options: { pin: boolean }): CpuPlan {
  const count = cpus().length
  if (!options.pin || count < 2 || !hasTaskset()) return { pinned: false }
  const othersCpuList = count === 2 ? '0' : `0-${count - 2}`
  return { pinned: true, gatewayCore: count - 1, othersCpuList }
}

/** Moves this process (every thread) onto the non-gateway CPUs; children inherit it. */
export function pinSelf(plan: CpuPlan): void {
  if (!plan.pinned || !plan.othersCpuList) return
  execFileSync('taskset', ['-a', '-p', '-c', plan.othersCpuList, String(process.pid)], { stdio: 'ignore' })
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
