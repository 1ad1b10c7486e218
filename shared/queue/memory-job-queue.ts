import {
  clampDelaySeconds,
  type JobMessage,
  type JobQueue,
  type Lane,
  type SendJobOptions,
} from './job-queue.ts'

interface Queued {
  readonly message: JobMessage
  readonly visibleAt: number
}

/**
 * Both lanes as in-process lists, for HTTP contract tests and pure logic: a
 * message is visible once its delay passed, as with SQS `DelaySeconds`, and is
 * taken by `receive` (no visibility timeout: a test that wants one uses SQS).
 */
export class MemoryJobQueue implements JobQueue {
  readonly #clock: () => number
  readonly #lanes: Record<Lane, Queued[]> = { interactive: [], batch: [] }

  constructor(options: { clock?: () => number } = {}) {
    this.#clock = options.clock ?? Date.now
  }

  async send(options: SendJobOptions): Promise<void> {
    const delay = clampDelaySeconds(options.delaySeconds)
    this.#lanes[options.lane].push({
      message: { ...options.message },
      visibleAt: this.#clock() + delay * 1000,
    })
  }

  /** Takes the oldest visible message of a lane, if any. */
  receive(lane: Lane): JobMessage | undefined {
    const now = this.#clock()
    const queued = this.#lanes[lane]
    const index = queued.findIndex((entry) => entry.visibleAt <= now)
    if (index < 0) return undefined
    return queued.splice(index, 1)[0]?.message
  }

  /** Messages waiting in a lane, delayed ones included. */
  depth(lane: Lane): number {
    return this.#lanes[lane].length
  }
}
