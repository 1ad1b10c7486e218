import type { GatewayConfig } from './gateway-config.ts'

/**
 * Every model id a tier sends to backends, in configuration order, each once: the
 * ids a backend may register as serving.
 */
export function tierModelIds(config: Pick<GatewayConfig, 'models'>): string[] {
  return [...new Set(config.models.flatMap((model) => model.tiers.map((tier) => tier.model)))]
}

/**
 * The tier model ids each hardware class serves: a backend of class X serves
 * every tier model whose `hardware` includes X. Classes no tier names are absent.
 *
 * @example
 * tierModelsByHardware(config) // { h20: ['llama-3.1-8b'], cpu: ['qwen2.5-1.5b-q4'] }
 */
export function tierModelsByHardware(config: Pick<GatewayConfig, 'models'>): Record<string, string[]> {
  const byHardware = new Map<string, Set<string>>()
  for (const model of config.models) {
    for (const tier of model.tiers) {
      for (const hardware of tier.hardware) {
        const models = byHardware.get(hardware) ?? new Set<string>()
        models.add(tier.model)
        byHardware.set(hardware, models)
      }
    }
  }
  return Object.fromEntries([...byHardware].map(([hardware, models]) => [hardware, [...models]]))
}
