import OpenAI from 'openai'
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../local/local-stack.ts'
import { DEFAULT_CONFIG, type GatewayConfigInput } from '../../shared/config/gateway-config.ts'
import type { TenantPolicyInput } from '../../shared/tenants/tenant-policy.ts'

export const MODEL = 'deepseek-r1-distill-llama-8b'
export const ADMIN_KEY = 'sk-test-admin'
export const AGENT_KEY = 'sk-test-agent'
/** Every test fleet requires it, as vLLM's `--api-key` would: each routed test checks it is sent. */
export const BACKEND_KEY = 'sk-test-backend'

/** Test tenants, one per policy the tests need. */
export const KEYS = {
  degrade: 'sk-test-degrade',
  strict: 'sk-test-strict',
  otherModelOnly: 'sk-test-other-model',
} as const

const TENANTS: { key: string; policy: TenantPolicyInput }[] = [
  { key: KEYS.degrade, policy: { id: 'degrader', mayDegrade: true } },
  { key: KEYS.strict, policy: { id: 'strict', mayDegrade: false } },
  { key: KEYS.otherModelOnly, policy: { id: 'other-model', models: ['some-other-model'] } },
]

/** Short TTLs so leak and staleness tests finish in seconds. */
export function testConfig(overrides: Partial<GatewayConfigInput> = {}): GatewayConfigInput {
  return {
    ...DEFAULT_CONFIG,
    leaseTtlSeconds: 3,
    heartbeatStaleSeconds: 2,
    snapshotMaxAgeMs: 200,
    circuit: { failureThreshold: 2, coolDownSeconds: 60 },
    // A model whose only tier has no backend in the test fleets: the 503 path.
    models: [
      ...DEFAULT_CONFIG.models,
      { id: 'lonely-model', tiers: [{ hardware: ['h100'], model: 'lonely-model' }] },
    ],
    ...overrides,
  }
}

export function startTestStack(
  options: Partial<LocalStackOptions> & { fleet: string; tenants?: LocalStackOptions['tenants'] },
): Promise<LocalStack> {
  return startLocalStack({
    speed: 0.02,
    config: testConfig(),
    heartbeatIntervalMs: 250,
    backendApiKey: BACKEND_KEY,
    ...options,
    adminKey: ADMIN_KEY,
    agentKey: AGENT_KEY,
    tenants: [...TENANTS, ...(options.tenants ?? [])],
  })
}

export function openaiFor(gatewayUrl: string, apiKey: string): OpenAI {
  return new OpenAI({ baseURL: `${gatewayUrl}/v1`, apiKey, maxRetries: 0, timeout: 20_000 })
}

export function chatBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: MODEL, messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 8, ...extra }
}

export function postChat(
  gatewayUrl: string,
  key: string,
  body: Record<string, unknown>,
  init: { headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Response> {
  return fetch(`${gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...init.headers },
    body: JSON.stringify(body),
    ...(init.signal ? { signal: init.signal } : {}),
  })
}

/** Polls until `check` holds or the deadline passes; returns whether it held. Not a timing assertion. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  withinMs = 15_000,
  everyMs = 25,
): Promise<boolean> {
  const until = Date.now() + withinMs
  while (Date.now() < until) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
  return check()
}
