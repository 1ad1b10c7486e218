export type { SimFaultOptions, SimFaults } from './faults.ts'
export { type Fleet, type StartFleetOptions, startFleet } from './fleet.ts'
export { type FleetSpecEntry, FleetSpecError, parseFleetSpec } from './fleet-spec.ts'
export {
  CPU_MODEL,
  DEFAULT_MODEL_MAP,
  GPU_MODEL,
  HARDWARE_PROFILES,
  type HardwareClass,
  type ModelMap,
} from './hardware-profiles.ts'
export {
  type AgentBackend,
  type HeartbeatAgent,
  type HeartbeatAgentOptions,
  startHeartbeatAgent,
} from './heartbeat-agent.ts'
export { type SimBackend, type SimBackendOptions, startSimBackend } from './sim-backend.ts'
export type { SimStateSnapshot } from './sim-engine.ts'
