/**
 * A fleet of simulated backends from a spec such as `h20=2x4,cpu=1x2@llamacpp`:
 * ids are `<class>-<n>`, numbered per class; each backend runs `slots`
 * sequences and speaks the metric dialect of its `@engine` (vLLM by default).
 */
import type { SimFaultOptions } from './faults.ts'
import { parseFleetSpec } from './fleet-spec.ts'
import { type ModelMap, modelsFor } from './hardware-profiles.ts'
import { type SimBackend, startSimBackend } from './sim-backend.ts'

export interface StartFleetOptions {
  readonly spec: string
  /** Scales every delay: 0 = none, 0.01 = fast tests, 1 = real time (default). */
  readonly speed?: number
  /** Backend i listens on basePort + i; 0 or unset picks free ports. */
  readonly basePort?: number
  /** Model ids per hardware class; defaults to the 8B model on GPUs and the 1.5B q4 on cpu. */
  readonly models?: ModelMap
  /**
   * Faults by target: `'*'` for every backend, a class (`'cpu'`) or a backend id
   * (`'h20-2'`); the more specific wins field by field.
   */
  readonly faults?: Readonly<Record<string, SimFaultOptions>>
  readonly maxWaiting?: number
  /** Every backend requires this bearer key on `/v1/*` (vLLM's `--api-key`). */
  readonly apiKey?: string
}

export interface Fleet {
  readonly backends: readonly SimBackend[]
  stop(): Promise<void>
}

/** @example const fleet = await startFleet({ spec: 'h20=2x4,cpu=1x2', speed: 0.01 }) */
export async function startFleet(options: StartFleetOptions): Promise<Fleet> {
  const entries = parseFleetSpec(options.spec)
  const backends: SimBackend[] = []
  const numbers = new Map<string, number>()
  const faults = options.faults ?? {}
  try {
    for (const entry of entries) {
      for (let i = 0; i < entry.count; i++) {
        const number = (numbers.get(entry.hardware) ?? 0) + 1
        numbers.set(entry.hardware, number)
        const id = `${entry.hardware}-${number}`
        backends.push(
          await startSimBackend({
            id,
            hardware: entry.hardware,
            models: modelsFor(entry.hardware, options.models),
            maxNumSeqs: entry.slots,
            ...(entry.engine ? { engine: entry.engine } : {}),
            ...(options.maxWaiting === undefined ? {} : { maxWaiting: options.maxWaiting }),
            speed: options.speed ?? 1,
            faults: { ...faults['*'], ...faults[entry.hardware], ...faults[id] },
            port: options.basePort ? options.basePort + backends.length : 0,
            apiKey: options.apiKey,
          }),
        )
      }
    }
  } catch (error) {
    await Promise.all(backends.map((backend) => backend.stop()))
    throw error
  }
  return {
    backends,
    stop: async () => {
      await Promise.all(backends.map((backend) => backend.stop()))
    },
  }
}
