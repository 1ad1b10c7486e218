import { ChoiceStreamFold, type FoldedChoice, isObject, type Json } from './choice-stream-fold.ts'

/**
 * Folds the chunks of a streamed chat completion into the `chat.completion`
 * the same request would have got without `stream`. The gateway asks backends
 * for a stream even when its client did not (see read-completion.ts), so this
 * must keep everything a non-streaming answer carries: content, reasoning,
 * refusal, tool calls (assembled by their `index`), logprobs, finish and stop
 * reasons, usage, and fields it does not know (engine extensions), as sent.
 */
interface ChatChoice extends FoldedChoice {
  message: Json
  toolCalls: Map<number, Json>
}

/** Delta fields that arrive in pieces and are joined; any other field keeps its last value. */
const JOINED_TEXT = new Set(['content', 'reasoning_content', 'reasoning', 'refusal'])

export class CompletionAggregator extends ChoiceStreamFold<ChatChoice> {
  protected readonly object = 'chat.completion'
  protected readonly contentField = 'delta'

  protected newChoice(index: number): ChatChoice {
    return { index, message: {}, toolCalls: new Map(), logprobs: null, finishReason: null, extra: {} }
  }

  protected foldContent(choice: ChatChoice, delta: unknown): void {
    if (!isObject(delta)) return
    for (const [key, value] of Object.entries(delta)) {
      if (key === 'tool_calls' && Array.isArray(value)) joinToolCalls(choice.toolCalls, value)
      else if (JOINED_TEXT.has(key) && typeof value === 'string')
        choice.message[key] = `${typeof choice.message[key] === 'string' ? choice.message[key] : ''}${value}`
      else if (value !== null || !(key in choice.message)) choice.message[key] = value
    }
  }

  protected contentOf(choice: ChatChoice): Json {
    const message: Json = { role: 'assistant', content: null, ...choice.message }
    if (choice.toolCalls.size > 0)
      message.tool_calls = [...choice.toolCalls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call)
    return { message }
  }
}

/** Tool-call deltas carry an `index`; the id, type and name come once, the arguments in pieces. */
function joinToolCalls(calls: Map<number, Json>, deltas: readonly unknown[]): void {
  for (const delta of deltas) {
    if (!isObject(delta)) continue
    const index = typeof delta.index === 'number' ? delta.index : calls.size
    const call = calls.get(index) ?? {}
    const { index: _index, function: fn, ...rest } = delta
    for (const [key, value] of Object.entries(rest))
      if (value !== null && value !== undefined) call[key] = value
    if (isObject(fn)) {
      const target = isObject(call.function) ? call.function : {}
      for (const [key, value] of Object.entries(fn)) {
        if (typeof value === 'string')
          target[key] = `${typeof target[key] === 'string' ? target[key] : ''}${value}`
        else if (value !== null && value !== undefined) target[key] = value
      }
      call.function = target
    }
    calls.set(index, call)
  }
}
