/** Helpers for tests that talk to simulated backends over HTTP. */
import OpenAI from 'openai'
import type { SimStateSnapshot } from '../../../local/fleet/sim-engine.ts'

export function clientFor(baseUrl: string, options: { timeoutMs?: number } = {}): OpenAI {
  return new OpenAI({
    baseURL: `${baseUrl}/v1`,
    apiKey: 'sk-test',
    maxRetries: 0,
    timeout: options.timeoutMs ?? 10_000,
  })
}

export async function simState(baseUrl: string): Promise<SimStateSnapshot> {
  return (await (await fetch(`${baseUrl}/sim/state`)).json()) as SimStateSnapshot
}

/** Polls until `check` returns a value other than undefined (no timing assertions, just a bound). */
export async function waitUntil<T>(check: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

export const user = (content: string) => [{ role: 'user' as const, content }]
