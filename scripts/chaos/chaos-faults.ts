import type { Random } from '../../local/fleet/prng.ts'
import type { SimBackend } from '../../local/fleet/sim-backend.ts'

export type FaultKind =
  | 'kill-gateway'
  | 'kill-worker'
  | 'backend-5xx'
  | 'backend-429'
  | 'backend-stall'
  | 'backend-cut'
  | 'backend-crash'
  | 'backend-redirect'
  | 'heartbeat-stop'
  | 'deregister'
  | 'resize'
  | 'dynamodb-pause'
  | 'clock-skew'

/** What the controller acts on. */
export interface ChaosTargets {
  readonly backends: readonly SimBackend[]
  /** SIGKILLs the index-th gateway or worker process and starts a new one in its place. */
  killAndRestart(kind: 'gateway' | 'worker', index: number, options?: { clockSkewMs?: number }): Promise<void>
  /** Stops the backend's heartbeat agent (the server keeps serving) and starts it again after `ms`. */
  pauseAgent(backendId: string, ms: number): Promise<void>
  /** POST /admin/backends (or DELETE /admin/backends/{id}) with the admin key, through a live gateway. */
  admin(path: string, init?: RequestInit): Promise<Response>
  /** DynamoDB Local's JVM, when that is the emulator (SIGSTOP pauses it). */
  readonly dynamodbPid?: number
}

/**
 * Injects one random fault every `everyMs` (on average) until `until`, each undone a
 * few seconds later. Every choice comes from `random`, so a seed replays the same faults.
 */
export async function injectFaults(options: {
  targets: ChaosTargets
  random: Random
  until: number
  everyMs: number
  /** Only these kinds (the soak leaves its processes alive); all by default. */
  only?: readonly FaultKind[]
  onFault: (kind: FaultKind, detail: string) => void
}): Promise<void> {
  const { targets, random } = options
  const all: FaultKind[] = [
    'kill-gateway',
    'kill-worker',
    'backend-5xx',
    'backend-429',
    'backend-stall',
    'backend-cut',
    'backend-crash',
    'backend-redirect',
    'heartbeat-stop',
    'deregister',
    'resize',
    'clock-skew',
    ...(targets.dynamodbPid ? (['dynamodb-pause'] as const) : []),
  ]
  const kinds = options.only ? all.filter((kind) => options.only?.includes(kind)) : all
  const pending: Promise<void>[] = []
  // One fault per backend at a time, so an undo never clears another fault's setting.
  const busy = new Set<string>()
  while (Date.now() < options.until) {
    await sleep(options.everyMs * (0.5 + random()))
    if (Date.now() >= options.until) break
    const kind = kinds[Math.floor(random() * kinds.length)]!
    const backend = targets.backends[Math.floor(random() * targets.backends.length)]!
    const index = Math.floor(random() * 3)
    const hold = 1_000 + Math.floor(random() * 2_000)
    // Within ±MAX_CLOCK_SKEW_MS, never 0: the skew the design tolerates (see MAX_CLOCK_SKEW_MS).
    const skew = Math.round((random() < 0.5 ? -1 : 1) * MAX_CLOCK_SKEW_MS * (0.25 + 0.75 * random()))
    if (
      kind.startsWith('backend-') ||
      kind === 'heartbeat-stop' ||
      kind === 'deregister' ||
      kind === 'resize'
    ) {
      if (busy.has(backend.id)) continue
      busy.add(backend.id)
    }
    options.onFault(kind, faultDetail({ kind, backend, index, skew }))
    pending.push(
      applyFault({ targets, kind, backend, index, hold, skew })
        .catch(() => undefined)
        .finally(() => busy.delete(backend.id)),
    )
  }
  await Promise.all(pending)
}

/**
 * Leases renew every third of their TTL, so a live lease always has two thirds of it
 * left on its holder's clock; a peer whose clock runs ahead by less than that (minus
 * a DynamoDB pause) never sees it expired. The chaos TTL is 6 s: ±1 s leaves margin.
 * Worker claims (3 s, renewed every 1 s) tolerate the same.
 */
export const MAX_CLOCK_SKEW_MS = 1_000

function faultDetail(o: { kind: FaultKind; backend: SimBackend; index: number; skew: number }): string {
  if (o.kind.startsWith('kill')) return `#${o.index}`
  if (o.kind === 'clock-skew') return `${o.index % 2 === 0 ? 'gateway' : 'worker'} #${o.index} ${o.skew} ms`
  return o.backend.id
}

async function applyFault(o: {
  targets: ChaosTargets
  kind: FaultKind
  backend: SimBackend
  index: number
  hold: number
  skew: number
}): Promise<void> {
  const { targets, backend } = o
  const undoAfter = async (undo: () => unknown) => {
    await sleep(o.hold)
    await undo()
  }
  switch (o.kind) {
    case 'kill-gateway':
    case 'kill-worker': {
      const kind = o.kind === 'kill-gateway' ? 'gateway' : 'worker'
      return targets.killAndRestart(kind, kind === 'gateway' ? o.index % 3 : o.index % 2)
    }
    case 'backend-5xx':
      backend.setFaults({ errorRate: 0.6 })
      return undoAfter(() => backend.setFaults({ errorRate: 0 }))
    case 'backend-429':
      backend.setFaults({ rateLimitRate: 0.6, retryAfterSeconds: 1 })
      return undoAfter(() => backend.setFaults({ rateLimitRate: 0 }))
    case 'backend-stall':
      backend.setFaults({ stallAfterTokens: 4 })
      return undoAfter(() => backend.setFaults({ stallAfterTokens: 0 }))
    case 'backend-cut':
      backend.setFaults({ cutAfterTokens: 4 })
      return undoAfter(() => backend.setFaults({ cutAfterTokens: 0 }))
    case 'backend-crash':
      backend.crash()
      return undoAfter(() => backend.restart())
    case 'backend-redirect':
      backend.setFaults({ redirectRate: 0.6 })
      return undoAfter(() => backend.setFaults({ redirectRate: 0 }))
    case 'heartbeat-stop':
      // Longer than heartbeatStaleSeconds (3 s), so the backend does go stale while it serves.
      return targets.pauseAgent(backend.id, 3_500 + o.hold)
    case 'clock-skew': {
      // The restarted process keeps its skewed clock until it is killed again.
      const kind = o.index % 2 === 0 ? 'gateway' : 'worker'
      return targets.killAndRestart(kind, kind === 'gateway' ? o.index % 3 : o.index % 2, {
        clockSkewMs: o.skew,
      })
    }
    case 'deregister':
      // Its agent registers it again once the tombstone is gone (its leases ended).
      await targets.admin(`/admin/backends/${backend.id}`, { method: 'DELETE' })
      return
    case 'resize': {
      const register = (maxConcurrency: number) =>
        targets.admin('/admin/backends', {
          method: 'POST',
          body: JSON.stringify({
            id: backend.id,
            url: backend.url,
            hardware: backend.hardware,
            models: backend.models,
            maxConcurrency,
          }),
        })
      // Smaller only: the simulator's own max-num-seqs stays what the checker holds it to.
      await register(Math.max(1, backend.maxConcurrency - 1))
      return undoAfter(() => register(backend.maxConcurrency))
    }
    case 'dynamodb-pause': {
      const pid = targets.dynamodbPid
      if (!pid) return
      process.kill(pid, 'SIGSTOP')
      // Shorter than the lease TTL: renewals stall but no live lease expires meanwhile.
      return undoAfter(() => process.kill(pid, 'SIGCONT'))
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
