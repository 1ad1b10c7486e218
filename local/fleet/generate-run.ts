/**
 * One sequence's life once admitted: wait for a slot, prefill, then emit tokens
 * on the profile's clock until done, the client leaves, or a stall/cut fault
 * fires. `release` gives the slot and the KV cache back.
 */
import type { ChatRequest } from './chat-request.ts'
import { generateTokens, promptText, tokenTimings } from './generation.ts'
import type { CompletionHeader, FinishReason } from './openai-wire.ts'
import { Pacer } from './pacer.ts'
import type { StartResult } from './scheduler.ts'
import type { SimEngine } from './sim-engine.ts'
import type { RequestRecord } from './sim-stats.ts'

/** `cut-mid-event`: the stream must end inside the next event (the caller writes half of it). */
export type RunEnd = 'done' | 'aborted' | 'stalled' | 'cut' | 'cut-mid-event'

/** A request that passed admission and holds a place in the scheduler. */
export interface AdmittedRequest {
  readonly engine: SimEngine
  readonly request: ChatRequest
  readonly header: CompletionHeader
  readonly promptTokens: number
  readonly record: RequestRecord
  readonly started: Promise<StartResult>
  /** Aborts when the client goes away. */
  readonly signal: AbortSignal
  /** Tells the request its client went away (a cancelled response body). */
  readonly leave: () => void
  /** Destroys the client's socket (the `cut` fault). */
  readonly destroySocket: () => void
  /** Ends the client's socket once what was written so far has gone out (the `cutMidEvent` fault). */
  readonly endSocket: () => void
}

export interface RunOptions extends AdmittedRequest {
  /** Called with each token as it is produced (index 0 is the first token). */
  readonly onToken: (token: string, index: number) => void
}

/** Runs the sequence; the caller calls `release` once it is done with the outcome (a stall holds on first). */
export async function runSequence(options: RunOptions): Promise<{ end: RunEnd; release: () => void }> {
  const { engine, request, record, signal } = options
  const start = await options.started
  if (!start.ok) return { end: 'aborted', release: () => {} }
  engine.stats.started(record)
  let heldKv = options.promptTokens
  engine.stats.kvTokens += heldKv
  const release = () => {
    engine.stats.kvTokens -= heldKv
    heldKv = 0
    start.sequence.release()
  }
  const prompt = promptText(request.messages)
  const tokens = generateTokens({ seed: request.seed, prompt, count: request.maxTokens })
  const timings = tokenTimings({
    profile: engine.profile,
    promptTokens: options.promptTokens,
    speed: engine.speed,
    seed: request.seed,
    prompt,
  })
  const { stallAfterTokens, cutAfterTokens, cutMidEventAfterTokens } = engine.faults
  const pacer = new Pacer()
  for (const [index, token] of tokens.entries()) {
    const gap = index === 0 ? timings.firstTokenMs : timings.nextTokenMs()
    if (!(await pacer.wait(gap, signal))) return { end: 'aborted', release }
    if (cutAfterTokens > 0 && index === cutAfterTokens) return { end: 'cut', release }
    if (cutMidEventAfterTokens > 0 && index === cutMidEventAfterTokens)
      return { end: 'cut-mid-event', release }
    if (stallAfterTokens > 0 && index === stallAfterTokens) return { end: 'stalled', release }
    heldKv++
    engine.stats.kvTokens++
    record.completionTokens++
    options.onToken(token, index)
  }
  return { end: 'done', release }
}

/** Records how a sequence ended; a crash's casualties are failures, not client aborts. */
export function settle(options: {
  engine: SimEngine
  record: RequestRecord
  end: RunEnd
  finishReason: FinishReason
}): void {
  const { engine, record, end } = options
  if (end === 'done') engine.stats.finish(record, 'completed', options.finishReason)
  else if (end === 'cut' || end === 'cut-mid-event' || engine.crashed) engine.stats.finish(record, 'failed')
  else engine.stats.finish(record, 'aborted')
}
