import type { BackendClient } from '../backends/backend-client.ts'
import type { CapacityStore } from '../capacity/capacity-store.ts'
import type { GatewayConfig } from '../config/gateway-config.ts'
import type { JobStore } from '../jobs/job-store.ts'
import { type AppLogger, silentLogger } from '../logging.ts'
import type { JobQueue } from '../queue/job-queue.ts'
import type { CircuitBreakers } from '../router/circuit-breakers.ts'
import { createRouting } from '../router/routing.ts'
import { SlotGate } from '../router/slot-gate.ts'
import { type WorkerOptions, workerOptions } from './worker-options.ts'

/** Everything one worker process uses, built once per cold start and shared by its invocations. */
export interface Worker {
  readonly config: GatewayConfig
  readonly jobs: JobStore
  readonly queue: JobQueue
  readonly slots: SlotGate
  readonly circuits: CircuitBreakers
  readonly backendClient: BackendClient
  readonly clock: () => number
  readonly random: () => number
  readonly log: AppLogger
  readonly webhookSecret: string | undefined
  readonly options: WorkerOptions
}

export interface CreateWorkerOptions {
  readonly config: GatewayConfig
  readonly jobs: JobStore
  readonly queue: JobQueue
  readonly capacity: CapacityStore
  readonly backendClient: BackendClient
  readonly clock?: () => number
  readonly random?: () => number
  readonly log?: AppLogger
  readonly webhookSecret?: string
  readonly options?: Partial<WorkerOptions>
}

/**
 * The worker routes with the gateway's own router (same tiers, leases and
 * circuits); only its answer to "no slot" differs: wait a little, then back to
 * the queue, never a further spill.
 */
export function createWorker(options: CreateWorkerOptions): Worker {
  const clock = options.clock ?? Date.now
  const settings = workerOptions(options.options)
  const routing = createRouting({
    config: options.config,
    capacity: options.capacity,
    clock,
    ...(options.random ? { random: options.random } : {}),
  })
  return {
    config: options.config,
    jobs: options.jobs,
    queue: options.queue,
    slots: new SlotGate({
      router: routing.router,
      clock,
      pollMs: settings.slotPollMs,
      refreshMs: settings.slotRefreshMs,
      signals: {
        subscribe: (listener) => routing.view.subscribe(listener),
        refresh: () => routing.view.refresh(clock()),
      },
    }),
    circuits: routing.circuits,
    backendClient: options.backendClient,
    clock,
    random: options.random ?? Math.random,
    log: options.log ?? silentLogger,
    webhookSecret: options.webhookSecret,
    options: settings,
  }
}
