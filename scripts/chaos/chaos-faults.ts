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
  | 'deregister'
  | 'resize'
  | 'dynamodb-pause'

/** What the controller acts on. */
export interface ChaosTargets {
  readonly backends: readonly SimBackend[]
  /** SIGKILLs the index-th gateway or worker process and starts a new one in its place. */
  killAndRestart(kind: 'gateway' | 'worker', index: number): Promise<void>
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
    'deregister',
    'resize',
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
    if (kind.startsWith('backend-') || kind === 'deregister' || kind === 'resize') {
      if (busy.has(backend.id)) continue
      busy.add(backend.id)
    }
    options.onFault(kind, kind.startsWith('kill') ? `#${index}` : backend.id)
    pending.push(
      applyFault({ targets, kind, backend, index, hold })
        .catch(() => undefined)
        .finally(() => busy.delete(backend.id)),
    )
  }
  await Promise.all(pending)
}

async function applyFault(o: {
  targets: ChaosTargets
  kind: FaultKind
  backend: SimBackend
  index: number
  hold: number
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
