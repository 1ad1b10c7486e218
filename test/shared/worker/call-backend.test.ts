import { afterEach, describe, expect, it } from 'vitest'
import { GPU_MODEL } from '../../../local/fleet/hardware-profiles.ts'
import { type SimBackend, startSimBackend } from '../../../local/fleet/sim-backend.ts'
import { HttpBackendClient } from '../../../shared/backends/backend-client.ts'
import { backendBody, callBackend } from '../../../shared/worker/call-backend.ts'

/**
 * The worker's backend call against the simulator over HTTP (defect 1 on the
 * worker's side): a long answer is limited by the call's total time only, a
 * stall by the idle timeout, and running out of total time is "too long", never
 * a failure held against the backend or retried.
 */
let sim: SimBackend | undefined
afterEach(async () => {
  await sim?.stop()
  sim = undefined
})

async function start(faults = {}) {
  // 1.5 ms a token: 3,000 tokens ≈ 4.5 s, against clocks generous enough for a loaded machine.
  sim = await startSimBackend({
    id: 'h20-1',
    hardware: 'h20',
    models: [GPU_MODEL],
    maxNumSeqs: 2,
    speed: 0.25,
    faults,
  })
  return sim
}

const call = (backend: SimBackend, maxTokens: number, timeoutMs: number) =>
  callBackend({
    client: new HttpBackendClient(),
    backend: { id: backend.id, url: backend.url },
    body: backendBody(
      {
        model: 'ignored',
        messages: [{ role: 'user', content: 'Think long' }],
        max_tokens: maxTokens,
        stream: true,
      },
      GPU_MODEL,
    ),
    timeoutMs,
    firstByteTimeoutMs: 1_500,
    idleTimeoutMs: 1_500,
    maxResponseBytes: 16 * 1024 * 1024,
    signal: new AbortController().signal,
  })

describe('Function: callBackend', () => {
  it('gets a whole answer that takes longer than the first-byte timeout', async () => {
    const outcome = await call(await start(), 3000, 30_000)
    expect(outcome.kind).toBe('ok')
    if (outcome.kind !== 'ok') return
    expect(outcome.result).toMatchObject({ object: 'chat.completion', usage: { completion_tokens: 3000 } })
    expect((outcome.result.choices as { finish_reason: string }[])[0]?.finish_reason).toBe('length')
  })

  it('calls an answer that outlasts the total time too long, not a backend failure', async () => {
    const outcome = await call(await start(), 3000, 1_000)
    expect(outcome).toMatchObject({ kind: 'too-long', code: 'upstream_timeout' })
  })

  it('fails a backend that stalls mid-answer on the idle timeout, as its fault', async () => {
    const outcome = await call(await start({ stallAfterTokens: 5 }), 200, 30_000)
    expect(outcome).toEqual({ kind: 'failed', reason: 'idle timeout', countsAgainstBackend: true })
  })
})
