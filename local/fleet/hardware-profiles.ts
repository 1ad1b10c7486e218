/**
 * Timing of each simulated hardware class, as data. The numbers are rough
 * single-sequence figures for the default model on that class (vLLM, bf16 for
 * GPUs, a 4-bit GGUF for CPU); decode is memory-bound, so per-token time follows
 * memory bandwidth (an H20 decodes faster than an H100 while prefilling ~7x
 * slower). The simulator does not slow sequences down as the batch grows.
 *
 * Time to first token = ttftBaseMs + promptTokens / prefillTokensPerSecond,
 * then each output token takes perTokenMs × (1 ± jitter).
 */

export interface HardwareProfile {
  readonly ttftBaseMs: number
  readonly prefillTokensPerSecond: number
  readonly perTokenMs: number
  /** Relative inter-token jitter: 0.2 → each gap is uniform in ±20% of perTokenMs. */
  readonly jitter: number
  /** KV cache size in tokens, for `vllm:kv_cache_usage_perc`. */
  readonly kvCacheTokens: number
  readonly description: string
}

export const HARDWARE_PROFILES = {
  h20: {
    ttftBaseMs: 30,
    prefillTokensPerSecond: 4_500,
    perTokenMs: 6,
    jitter: 0.15,
    kvCacheTokens: 500_000,
    description: 'NVIDIA H20 96 GB, 8B model',
  },
  h100: {
    ttftBaseMs: 20,
    prefillTokensPerSecond: 30_000,
    perTokenMs: 7,
    jitter: 0.15,
    kvCacheTokens: 420_000,
    description: 'NVIDIA H100 80 GB, 8B model',
  },
  h800: {
    ttftBaseMs: 20,
    prefillTokensPerSecond: 28_000,
    perTokenMs: 7,
    jitter: 0.15,
    kvCacheTokens: 420_000,
    description: 'NVIDIA H800 80 GB, 8B model',
  },
  a100: {
    ttftBaseMs: 25,
    prefillTokensPerSecond: 12_000,
    perTokenMs: 10,
    jitter: 0.15,
    kvCacheTokens: 420_000,
    description: 'NVIDIA A100 80 GB, 8B model',
  },
  l40s: {
    ttftBaseMs: 30,
    prefillTokensPerSecond: 9_000,
    perTokenMs: 19,
    jitter: 0.15,
    kvCacheTokens: 200_000,
    description: 'NVIDIA L40S 48 GB, 8B model',
  },
  ascend910b: {
    ttftBaseMs: 40,
    prefillTokensPerSecond: 10_000,
    perTokenMs: 12,
    jitter: 0.2,
    kvCacheTokens: 280_000,
    description: 'Huawei Ascend 910B 64 GB, 8B model',
  },
  cpu: {
    ttftBaseMs: 0,
    prefillTokensPerSecond: 150,
    perTokenMs: 15,
    jitter: 0.33,
    kvCacheTokens: 32_768,
    description: 'CPU server, 1.5B model 4-bit',
  },
} as const satisfies Record<string, HardwareProfile>

export type HardwareClass = keyof typeof HARDWARE_PROFILES

export const HARDWARE_CLASSES = Object.keys(HARDWARE_PROFILES) as HardwareClass[]

export function isHardwareClass(name: string): name is HardwareClass {
  return Object.hasOwn(HARDWARE_PROFILES, name)
}

export const GPU_MODEL = 'deepseek-r1-distill-llama-8b'
export const CPU_MODEL = 'deepseek-r1-distill-qwen-1.5b-q4'

/** Which model ids each class serves unless the fleet is told otherwise. */
export type ModelMap = Readonly<Partial<Record<HardwareClass, readonly string[]>>>

export const DEFAULT_MODEL_MAP: Readonly<Record<HardwareClass, readonly string[]>> = {
  h20: [GPU_MODEL],
  h100: [GPU_MODEL],
  h800: [GPU_MODEL],
  a100: [GPU_MODEL],
  l40s: [GPU_MODEL],
  ascend910b: [GPU_MODEL],
  cpu: [CPU_MODEL],
}

export function modelsFor(hardware: HardwareClass, overrides: ModelMap = {}): readonly string[] {
  return overrides[hardware] ?? DEFAULT_MODEL_MAP[hardware]
}

/**
 * Embedding models the simulator knows, with their vector sizes: such a model
 * answers `/v1/embeddings` only, as vLLM serves a model either to generate or
 * to embed. `bge-small-en-v1.5` is the CPU embedding model of the local stack.
 */
export const EMBEDDING_MODELS: Readonly<Record<string, number>> = {
  'bge-small-en-v1.5': 384,
  'bge-base-en-v1.5': 768,
  'bge-m3': 1024,
  'nomic-embed-text-v1.5': 768,
}

export const EMBEDDING_MODEL = 'bge-small-en-v1.5'

export function isEmbeddingModel(model: string): boolean {
  return Object.hasOwn(EMBEDDING_MODELS, model)
}
