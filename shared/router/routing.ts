import type { CapacityStore } from '../capacity/capacity-store.ts'
import type { GatewayConfig } from '../config/gateway-config.ts'
import { CapacityView } from './capacity-view.ts'
import { CircuitBreakers } from './circuit-breakers.ts'
import { type RouteDecision, Router } from './router.ts'

export interface Routing {
  readonly router: Router
  readonly view: CapacityView
  readonly circuits: CircuitBreakers
}

/** The per-process routing state (snapshot cache, circuits) shared by the gateway and the worker. */
export function createRouting(options: {
  config: GatewayConfig
  capacity: CapacityStore
  clock: () => number
  random?: () => number
  onDecision?: (decision: RouteDecision) => void
  /** Keeps finished requests' leases warm this long (long-lived gateways only); 0 by default. */
  lingerMs?: number
}): Routing {
  const { config } = options
  const view = new CapacityView({
    store: options.capacity,
    maxAgeMs: config.snapshotMaxAgeMs,
    readUnitsPerSecond: config.snapshotReadUnitsPerSecond,
    // A rolling snapshot's oldest part makes heartbeats look that much older: a third of the
    // staleness keeps a backend beating every few seconds well inside it.
    maxPartAgeMs: (config.heartbeatStaleSeconds * 1000) / 3,
  })
  const circuits = new CircuitBreakers({
    failureThreshold: config.circuit.failureThreshold,
    coolDownMs: config.circuit.coolDownSeconds * 1000,
    // Best effort, off the request's path: if the write fails, each process still has its own breaker.
    onOpen: (backendId, until) =>
      void options.capacity.openCircuit({ backendId, until }).then(
        (backend) => backend && view.update(backend),
        () => undefined,
      ),
  })
  const router = new Router({
    store: options.capacity,
    view,
    circuits,
    clock: options.clock,
    ...(options.random ? { random: options.random } : {}),
    ...(options.onDecision ? { onDecision: options.onDecision } : {}),
    leaseTtlMs: config.leaseTtlSeconds * 1000,
    lingerMs: options.lingerMs ?? 0,
    heartbeatStaleMs: config.heartbeatStaleSeconds * 1000,
  })
  return { router, view, circuits }
}
