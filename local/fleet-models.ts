import type { GatewayConfig } from '../shared/config/gateway-config.ts'
import { tierModelsByHardware } from '../shared/config/tier-models.ts'
import { parseFleetSpec } from './fleet/fleet-spec.ts'
import type { ModelMap } from './fleet/hardware-profiles.ts'

/**
 * The models each simulated backend serves, from the configuration: a backend of
 * class X serves every tier model whose `hardware` includes X. A fleet class the
 * configuration does not declare, or on which none of its tiers runs, would start
 * backends the gateway refuses or never routes to, so it is a start-up error.
 *
 * @example
 * startFleet({ spec, models: fleetModels({ spec, config }) })
 */
export function fleetModels(options: { spec: string; config: GatewayConfig }): ModelMap {
  const declared = options.config.hardwareClasses.map((h) => h.id)
  const byHardware = tierModelsByHardware(options.config)
  const problems: string[] = []
  const models: Record<string, readonly string[]> = {}
  for (const { hardware } of parseFleetSpec(options.spec)) {
    const served = byHardware[hardware]
    if (!declared.includes(hardware)) {
      problems.push(
        `"${hardware}" is not a hardware class of the config (it declares: ${declared.join(', ')})`,
      )
    } else if (!served) {
      problems.push(`no model of the config has a tier on "${hardware}"`)
    } else {
      models[hardware] = served
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `fleet ${JSON.stringify(options.spec)} (SPILLWAY_FLEET) does not fit the config: ${problems.join('; ')}`,
    )
  }
  return models
}
