import type { ApiKind } from '../backends/backend-apis.ts'
import type { ModelConfig } from '../config/gateway-config.ts'
import type { Lane } from '../queue/job-queue.ts'
import type { FreedSlot, RouteResult, Router } from './router.ts'

interface Waiter {
  readonly lane: Lane
  /** Hard limit (epoch ms). */
  readonly until: number
  readonly patienceMs: number
  /** Gives up here unless the line moves (a slot goes to anyone in it) first. */
  idleUntil: number
  /** Left the line (its client went away): a slot handed to it meanwhile goes back. */
  left: boolean
  readonly resolve: (result: RouteResult) => void
  readonly reject: (error: unknown) => void
}

/** What the gate hears from this process's capacity view. */
export interface CapacitySignals {
  /** Calls `listener` after any change to the view (a release of ours, a fresh snapshot). */
  subscribe(listener: () => void): () => void
  /** Reads the store again, so slots that other processes released are seen. */
  refresh(): Promise<void>
}

interface Line {
  readonly model: ModelConfig
  readonly mayDegrade: boolean
  readonly api: ApiKind
  readonly waiters: Waiter[]
  /** When the head last re-read the line's backends (`Router.lookAgain`). */
  lookedAt: number
}

type GateRouter = Pick<Router, 'acquire'> & Partial<Pick<Router, 'onSlotFreed' | 'lookAgain'>>

/**
 * The deliveries of one worker process that wait for a slot, in one line per
 * (model, may degrade): only the head asks the router, so a freed slot costs one
 * conditional write instead of a stampede of losing ones; interactive waiters
 * queue ahead of batch ones, and a batch head asks less often, so the
 * interactive lane wins freed slots across processes as well.
 *
 * The head wakes as soon as this process's view changes (our own release frees a
 * slot), and while it waits it re-reads the fleet every `refreshMs`, because the
 * router's snapshot (≤ 1 s old) would hide other processes' releases that long.
 *
 * A slot that a request of this process frees never idles while someone here waits:
 * the router offers it to the gate first, and the head of a line the backend may
 * serve takes the lease over (one write, no release-then-acquire gap).
 */
export class SlotGate {
  readonly #router: GateRouter
  readonly #clock: () => number
  readonly #pollMs: Readonly<Record<Lane, number>>
  readonly #lines = new Map<string, Line>()
  readonly #signals: CapacitySignals | undefined
  readonly #refreshMs: number
  #refreshedAt = Number.NEGATIVE_INFINITY
  /** Sleeping heads, woken early by a change to the view. */
  readonly #sleepers = new Set<() => void>()

  readonly #lookMs: number

  constructor(options: {
    router: GateRouter
    clock: () => number
    pollMs: Readonly<Record<Lane, number>>
    signals?: CapacitySignals
    refreshMs?: number
    /**
     * How often an interactive head re-reads just its line's backends (a few strongly
     * consistent item reads), so another process's release reaches it within about this
     * long plus a round trip, instead of at the next whole-fleet refresh.
     */
    lookMs?: number
  }) {
    this.#router = options.router
    this.#clock = options.clock
    this.#pollMs = options.pollMs
    this.#signals = options.signals
    this.#refreshMs = options.refreshMs ?? 250
    this.#lookMs = options.lookMs ?? DEFAULT_LOOK_MS
    this.#signals?.subscribe(() => {
      for (const wake of this.#sleepers) wake()
      this.#sleepers.clear()
    })
    this.#router.onSlotFreed?.((slot) => this.#take(slot))
  }

  /**
   * A slot, or the router's last refusal once `patienceMs` pass without any slot
   * going to this line, or at `until` (epoch ms) whatever happens. While slots
   * keep freeing, a backlog keeps waiting here, so slots never idle between a
   * finished job and the next one's queue delay.
   */
  acquire(options: {
    model: ModelConfig
    mayDegrade: boolean
    /** The request's API (chat when absent): one line per API, since each has its own backends. */
    api?: ApiKind
    lane: Lane
    patienceMs: number
    until: number
    /** Leaves the line at once (a held client went away); resolves with a refusal. */
    signal?: AbortSignal
  }): Promise<RouteResult> {
    if (options.signal?.aborted)
      return Promise.resolve({ ok: false, reason: 'saturated', retryAfterSeconds: 1 })
    const api = options.api ?? 'chat'
    const key = lineKey(options.model, options.mayDegrade, api)
    let line = this.#lines.get(key)
    const start = !line
    if (!line) {
      line = {
        model: options.model,
        mayDegrade: options.mayDegrade,
        api,
        waiters: [],
        lookedAt: Number.NEGATIVE_INFINITY,
      }
      this.#lines.set(key, line)
    }
    const { waiters } = line
    const result = new Promise<RouteResult>((resolve, reject) => {
      const waiter: Waiter = {
        lane: options.lane,
        until: options.until,
        patienceMs: options.patienceMs,
        idleUntil: this.#clock() + options.patienceMs,
        left: false,
        resolve,
        reject,
      }
      const firstBatch = options.lane === 'interactive' ? waiters.findIndex((w) => w.lane === 'batch') : -1
      if (firstBatch === -1) waiters.push(waiter)
      else waiters.splice(firstBatch, 0, waiter)
      // Out of the line before the pump can hand it a slot: a slot is never given to a waiter that left.
      options.signal?.addEventListener(
        'abort',
        () => {
          waiter.left = true
          const index = waiters.indexOf(waiter)
          if (index !== -1) waiters.splice(index, 1)
          resolve({ ok: false, reason: 'saturated', retryAfterSeconds: 1 })
        },
        { once: true },
      )
    })
    if (start) void this.#pump(key, line)
    return result
  }

  /**
   * A slot this process frees: the head of the first line (interactive heads first) whose
   * model may use the backend takes it over. Out of the line while the transfer writes, so
   * the pump cannot give it a second slot; back at the head if the store refuses.
   */
  #take(slot: FreedSlot): Promise<boolean> | false {
    const lines = [...this.#lines.entries()].filter(([, line]) => line.waiters.length > 0)
    lines.sort(([, a], [, b]) => lanePriority(a) - lanePriority(b))
    for (const [key, line] of lines) {
      const taking = slot.take({ model: line.model, mayDegrade: line.mayDegrade, api: line.api })
      if (!taking) continue
      const waiter = line.waiters.shift()
      // A write that failed (the store unreachable, not a refused condition): the waiter goes
      // back to the head of its line, or it would wait for good; the holder frees the slot.
      const failed = (error: unknown): never => {
        if (waiter && !waiter.left) this.#rejoin(key, line, waiter)
        throw error
      }
      return taking.then(async (result) => {
        if (!waiter) {
          await result?.lease.release()
          return result !== undefined
        }
        if (!result) {
          if (!waiter.left) this.#rejoin(key, line, waiter)
          return false
        }
        if (waiter.left) {
          // Its client went away while the lease was passing: the slot is freed, not kept.
          await result.lease.release()
          return true
        }
        waiter.resolve(result)
        const now = this.#clock()
        for (const other of line.waiters) other.idleUntil = now + other.patienceMs
        return true
      }, failed)
    }
    return false
  }

  /** Back at the head of its line; the line's pump starts again if it had stopped meanwhile. */
  #rejoin(key: string, line: Line, waiter: Waiter): void {
    const current = this.#lines.get(key)
    if (current) {
      current.waiters.unshift(waiter)
      return
    }
    line.waiters.unshift(waiter)
    this.#lines.set(key, line)
    void this.#pump(key, line)
  }

  /** Is anyone of this process in line for this model? A newcomer then queues behind them. */
  hasWaiters(options: { model: ModelConfig; mayDegrade: boolean; api?: ApiKind }): boolean {
    const key = lineKey(options.model, options.mayDegrade, options.api ?? 'chat')
    return (this.#lines.get(key)?.waiters.length ?? 0) > 0
  }

  /** Waiters currently in line (for tests and logs). */
  get waiting(): number {
    let count = 0
    for (const line of this.#lines.values()) count += line.waiters.length
    return count
  }

  async #pump(key: string, line: Line): Promise<void> {
    const { waiters } = line
    try {
      while (waiters.length > 0) {
        const result = await this.#router.acquire({
          model: line.model,
          mayDegrade: line.mayDegrade,
          api: line.api,
        })
        if (result.ok) {
          const taker = waiters.shift()
          // Every waiter left (aborted) while the head's acquire was in flight: give the slot back,
          // then look at the line again: someone may have joined it during the release.
          if (!taker) {
            await result.lease.release()
            continue
          }
          taker.resolve(result)
          const now = this.#clock()
          for (const waiter of waiters) waiter.idleUntil = now + waiter.patienceMs
          continue
        }
        if (result.reason === 'no-backend') {
          for (const waiter of waiters.splice(0)) waiter.resolve(result)
          break
        }
        const now = this.#clock()
        for (let i = waiters.length - 1; i >= 0; i--) {
          const waiter = waiters[i]
          if (waiter && Math.min(waiter.until, waiter.idleUntil) <= now)
            waiters.splice(i, 1)[0]?.resolve(result)
        }
        const head = waiters[0]
        if (!head) break
        const looks = head.lane === 'interactive' && this.#router.lookAgain !== undefined
        if (looks && now - line.lookedAt >= this.#lookMs) {
          line.lookedAt = now
          await this.#router.lookAgain?.({ model: line.model, mayDegrade: line.mayDegrade, api: line.api })
          continue
        }
        if (this.#signals && now - this.#refreshedAt >= this.#refreshMs) {
          // Shared by every line of the process: one read per period, whatever the lines.
          this.#refreshedAt = now
          await this.#signals.refresh()
          continue
        }
        await this.#sleep(looks ? Math.min(this.#lookMs, this.#pollMs[head.lane]) : this.#pollMs[head.lane])
      }
    } catch (error) {
      for (const waiter of waiters.splice(0)) waiter.reject(error)
    } finally {
      // Only our own line: a line made after this pump gave up has its own pump.
      if (this.#lines.get(key) === line) this.#lines.delete(key)
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer)
        this.#sleepers.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, ms)
      this.#sleepers.add(wake)
    })
  }
}

/**
 * Under the simulator's H20 time to first token (30 ms), so a slot freed elsewhere is seen
 * within about one TTFT; at most 4 item reads per look, 160 read units/s per waiting line.
 */
const DEFAULT_LOOK_MS = 25

/** Interactive heads take freed slots first. */
function lanePriority(line: Line): number {
  return line.waiters[0]?.lane === 'interactive' ? 0 : 1
}

function lineKey(model: ModelConfig, mayDegrade: boolean, api: ApiKind): string {
  return `${model.id}\u0000${mayDegrade}\u0000${api}`
}
