import type { ApiKind } from '../backends/backend-apis.ts'
import type { ModelConfig } from './gateway-config.ts'

/** Which public APIs a configured model answers, by its kind. */
const APIS_BY_KIND: Readonly<Record<ModelConfig['kind'], readonly ApiKind[]>> = Object.freeze({
  generation: ['chat', 'completions', 'responses'],
  embedding: ['embeddings'],
})

export function modelApis(model: Pick<ModelConfig, 'kind'>): readonly ApiKind[] {
  return APIS_BY_KIND[model.kind]
}
