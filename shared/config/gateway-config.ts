import * as z from '../validation/zod-mini.ts'
import { namedTenantDefaults, type TenantDefaults, TenantDefaultsSchema } from './tenant-defaults.ts'

/**
 * The gateway's static configuration: hardware classes, models and their tiers,
 * the timing knobs and the defaults of new tenants; the shape of
 * `spillway.config.json`. Parsed once at start-up into a frozen object; every
 * problem is reported in one error so a broken config is fixed in one pass.
 * Objects are strict: a misspelt key is an error, not a silently ignored setting.
 */

const id = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(128),
    z.regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, 'letters, digits and . _ : / - only'),
  )

const HardwareClassSchema = z.strictObject({
  id: z.string().check(z.regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and - only')),
  kind: z.enum(['gpu', 'cpu', 'npu']),
  description: z.optional(z.string()),
})

const TierSchema = z.strictObject({
  /** Hardware classes that can serve this tier, all equally good. */
  hardware: z.array(z.string()).check(z.minLength(1)),
  /** The model id sent to backends of this tier (a CPU tier usually names a smaller or quantised variant). */
  model: id,
  /** A degraded tier is used only for tenants that may degrade; its responses say `x-spillway-route: fallback`. */
  degraded: z._default(z.boolean(), false),
})

const ModelSchema = z.strictObject({
  id,
  description: z.optional(z.string()),
  /**
   * `generation` models answer chat, completions and responses; `embedding` models only
   * embeddings, with tiers (and so backends and slots) of their own.
   */
  kind: z._default(z.enum(['generation', 'embedding']), 'generation'),
  tiers: z.array(TierSchema).check(z.minLength(1)),
})

export const GatewayConfigSchema = z.strictObject({
  /** An editor's JSON Schema reference; ignored. */
  $schema: z.optional(z.string()),
  hardwareClasses: z.array(HardwareClassSchema).check(z.minLength(1)),
  models: z.array(ModelSchema).check(z.minLength(1)),
  /** A crashed holder's slot comes back after this long; holders renew at a third of it. */
  leaseTtlSeconds: z._default(z.int().check(z.gte(2), z.lte(900)), 60),
  /** A backend whose last heartbeat is older than this gets no new work. */
  heartbeatStaleSeconds: z._default(z.number().check(z.gte(1), z.lte(3600)), 15),
  /** How old the cached capacity snapshot may be before a read refreshes it. */
  snapshotMaxAgeMs: z._default(z.int().check(z.gte(0), z.lte(1000)), 1000),
  /**
   * Read units a process's snapshot may cost per second: a table that costs more is read a
   * scan segment per refresh (a rolling snapshot), within a third of `heartbeatStaleSeconds`.
   */
  snapshotReadUnitsPerSecond: z._default(z.number().check(z.gte(1)), 50),
  /**
   * How long a long-lived gateway (the Node server, `npm start`) keeps the lease of a request
   * that ended well warm for its next request, saving both lease writes when one comes in
   * time; 0 turns it off. Lambda and the workers always release at once.
   */
  leaseLingerMs: z._default(z.int().check(z.gte(0), z.lte(1000)), 20),
  maxBodyBytes: z._default(z.int().check(z.gte(1024), z.lte(6 * 1024 * 1024)), 1024 * 1024),
  upstream: z.prefault(
    z.strictObject({
      /** Time allowed to the backend's first byte (headers), after which another backend is tried. */
      firstByteTimeoutMs: z._default(z.int().check(z.gte(100)), 60_000),
      /** Longest silence allowed between two chunks of a stream. */
      idleTimeoutMs: z._default(z.int().check(z.gte(100)), 60_000),
      /** Backends tried for one request before giving up. */
      maxAttempts: z._default(z.int().check(z.gte(1), z.lte(10)), 3),
      /** Longest one answer may take in all (the gateway Lambda's own timeout is 15 min); never a backend fault. */
      totalTimeoutMs: z._default(z.int().check(z.gte(1_000), z.lte(3_600_000)), 900_000),
      /** Most bytes read from a backend for one answer, streamed or not; past it the client gets a 502. */
      maxResponseBytes: z._default(z.int().check(z.gte(1024), z.lte(256 * 1024 * 1024)), 16 * 1024 * 1024),
    }),
    {},
  ),
  circuit: z.prefault(
    z.strictObject({
      failureThreshold: z._default(z.int().check(z.gte(1)), 3),
      coolDownSeconds: z._default(z.number().check(z.gte(0.1)), 30),
    }),
    {},
  ),
  /** Policy defaults of the tenants the local stack and `npm run keys -- create` make. */
  tenantDefaults: z.optional(TenantDefaultsSchema),
})

export type GatewayConfig = Omit<z.output<typeof GatewayConfigSchema>, '$schema' | 'tenantDefaults'> & {
  readonly tenantDefaults?: TenantDefaults
}
export type GatewayConfigInput = z.input<typeof GatewayConfigSchema>
export type ModelConfig = GatewayConfig['models'][number]
export type ModelTier = ModelConfig['tiers'][number]

/** One thing wrong with a configuration, at a dotted JSON path (`models.0.tiers.1.hardware`). */
export interface ConfigProblem {
  readonly path: string
  readonly message: string
}

/** Problems listed in an error message; the rest are counted, so a huge broken input stays readable. */
const MAX_LISTED_PROBLEMS = 50

export class ConfigError extends Error {
  override name = 'ConfigError'
  readonly problems: readonly ConfigProblem[]

  constructor(message: string, problems: readonly ConfigProblem[] = []) {
    super(message)
    this.problems = problems
  }
}

/** The problems as the indented list every config error shows. */
export function formatConfigProblems(problems: readonly ConfigProblem[]): string {
  const lines = problems
    .slice(0, MAX_LISTED_PROBLEMS)
    .map((problem) => `  - ${problem.path || '(root)'}: ${problem.message}`)
  if (problems.length > MAX_LISTED_PROBLEMS)
    lines.push(`  … and ${problems.length - MAX_LISTED_PROBLEMS} more`)
  return lines.join('\n')
}

export type CheckGatewayConfigResult =
  | { readonly ok: true; readonly config: GatewayConfig }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] }

/** Every problem of a parsed JSON value as a configuration, or the frozen configuration. */
export function checkGatewayConfig(input: unknown): CheckGatewayConfigResult {
  const result = GatewayConfigSchema.safeParse(input)
  // Cross-references are checked on the raw input too, so a type error elsewhere
  // does not hide them: every problem is reported in one pass.
  const problems = [
    ...(result.success ? [] : result.error.issues).map((issue) => ({
      path: issue.path.join('.'),
      message: issue.message,
    })),
    ...crossReferenceIssues(input),
  ]
  if (problems.length > 0 || !result.success) return { ok: false, problems }
  const { $schema: _editorOnly, tenantDefaults, ...config } = result.data
  const named = namedTenantDefaults(
    (input as { tenantDefaults?: unknown }).tenantDefaults,
    tenantDefaults ?? {},
  )
  return { ok: true, config: deepFreeze({ ...config, ...(tenantDefaults ? { tenantDefaults: named } : {}) }) }
}

export function parseGatewayConfig(input: unknown): GatewayConfig {
  const result = checkGatewayConfig(input)
  if (!result.ok) {
    throw new ConfigError(
      `Invalid Spillway config:\n${formatConfigProblems(result.problems)}`,
      result.problems,
    )
  }
  return result.config
}

/** Duplicate ids and tiers naming unknown hardware classes, on input of any shape. */
function crossReferenceIssues(input: unknown): ConfigProblem[] {
  const record = (value: unknown) =>
    value && typeof value === 'object' ? (value as Record<string, unknown>) : {}
  const list = (value: unknown) => (Array.isArray(value) ? value : [])
  const config = record(input)
  const issues: ConfigProblem[] = []
  const classes = new Set<string>()
  list(config.hardwareClasses).forEach((raw, h) => {
    const id = record(raw).id
    if (typeof id !== 'string') return
    if (classes.has(id))
      issues.push({
        path: `hardwareClasses.${h}.id`,
        message: `duplicate hardware class ${JSON.stringify(id)}`,
      })
    classes.add(id)
  })
  const seen = new Set<unknown>()
  list(config.models).forEach((raw, m) => {
    const model = record(raw)
    if (typeof model.id === 'string' && seen.has(model.id)) {
      issues.push({ path: `models.${m}.id`, message: `duplicate model ${JSON.stringify(model.id)}` })
    }
    seen.add(model.id)
    list(model.tiers).forEach((tier, t) => {
      for (const hw of list(record(tier).hardware)) {
        if (typeof hw === 'string' && !classes.has(hw)) {
          issues.push({
            path: `models.${m}.tiers.${t}.hardware`,
            message: `unknown hardware class ${JSON.stringify(hw)} (known: ${[...classes].join(', ')})`,
          })
        }
      }
    })
  })
  return issues
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}

/**
 * The configuration `npm start` and the deploy default use: an 8B model on H20/H100, a 4-bit
 * 1.5B on CPU, and a small embedding model on CPU.
 */
export const DEFAULT_CONFIG: GatewayConfigInput = {
  hardwareClasses: [
    { id: 'h20', kind: 'gpu', description: 'NVIDIA H20 96 GB' },
    { id: 'h100', kind: 'gpu', description: 'NVIDIA H100 80 GB' },
    { id: 'h800', kind: 'gpu' },
    { id: 'a100', kind: 'gpu' },
    { id: 'l40s', kind: 'gpu' },
    { id: 'ascend910b', kind: 'npu' },
    { id: 'cpu', kind: 'cpu', description: 'x86/ARM CPU box running a quantised model' },
  ],
  models: [
    {
      id: 'deepseek-r1-distill-llama-8b',
      description: 'DeepSeek-R1 distilled into Llama 3.1 8B',
      tiers: [
        {
          hardware: ['h20', 'h100', 'h800', 'a100', 'l40s', 'ascend910b'],
          model: 'deepseek-r1-distill-llama-8b',
        },
        { hardware: ['cpu'], model: 'deepseek-r1-distill-qwen-1.5b-q4', degraded: true },
      ],
    },
    {
      id: 'bge-small-en-v1.5',
      description: 'BAAI bge-small-en-v1.5 sentence embeddings (384 dimensions)',
      kind: 'embedding',
      tiers: [{ hardware: ['cpu'], model: 'bge-small-en-v1.5' }],
    },
  ],
}
