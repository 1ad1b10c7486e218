/**
 * Folds the chunks of a streamed chat completion into the `chat.completion`
 * the same request would have got without `stream`. The gateway asks backends
 * for a stream even when its client did not (see read-completion.ts), so this
 * must keep everything a non-streaming answer carries: content, reasoning,
 * refusal, tool calls (assembled by their `index`), logprobs, finish and stop
 * reasons, usage, and fields it does not know (engine extensions), as sent.
 */
type Json = Record<string, unknown>

interface ChoiceState {
  index: number
  message: Json
  toolCalls: Map<number, Json>
  logprobs: Json | null
  finishReason: unknown
  extra: Json
}

/** Delta fields that arrive in pieces and are joined; any other field keeps its last value. */
const JOINED_TEXT = new Set(['content', 'reasoning_content', 'reasoning', 'refusal'])

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

export class CompletionAggregator {
  readonly #choices = new Map<number, ChoiceState>()
  #top: Json = {}
  #usage: unknown

  /** One parsed `data:` payload of the stream (not `[DONE]`). */
  push(chunk: Json): void {
    const { choices, usage, object: _object, ...top } = chunk
    for (const [key, value] of Object.entries(top)) if (!(key in this.#top)) this.#top[key] = value
    if (usage !== undefined && usage !== null) this.#usage = usage
    if (!Array.isArray(choices)) return
    for (const raw of choices) if (isObject(raw)) this.#pushChoice(raw)
  }

  #pushChoice(raw: Json): void {
    const index = typeof raw.index === 'number' ? raw.index : 0
    let choice = this.#choices.get(index)
    if (!choice) {
      choice = { index, message: {}, toolCalls: new Map(), logprobs: null, finishReason: null, extra: {} }
      this.#choices.set(index, choice)
    }
    const { delta, logprobs, finish_reason, index: _index, ...extra } = raw
    if (finish_reason !== undefined && finish_reason !== null) choice.finishReason = finish_reason
    for (const [key, value] of Object.entries(extra))
      if (value !== null || !(key in choice.extra)) choice.extra[key] = value
    if (isObject(logprobs)) choice.logprobs = joinLogprobs(choice.logprobs, logprobs)
    if (!isObject(delta)) return
    for (const [key, value] of Object.entries(delta)) {
      if (key === 'tool_calls' && Array.isArray(value)) joinToolCalls(choice.toolCalls, value)
      else if (JOINED_TEXT.has(key) && typeof value === 'string')
        choice.message[key] = `${typeof choice.message[key] === 'string' ? choice.message[key] : ''}${value}`
      else if (value !== null || !(key in choice.message)) choice.message[key] = value
    }
  }

  /** The non-streaming answer. */
  build(): Json {
    const choices = [...this.#choices.values()]
      .sort((a, b) => a.index - b.index)
      .map((choice) => {
        const message: Json = { role: 'assistant', content: null, ...choice.message }
        if (choice.toolCalls.size > 0)
          message.tool_calls = [...choice.toolCalls.entries()]
            .sort(([a], [b]) => a - b)
            .map(([, call]) => call)
        return {
          index: choice.index,
          message,
          logprobs: choice.logprobs,
          finish_reason: choice.finishReason,
          ...choice.extra,
        }
      })
    return {
      ...this.#top,
      object: 'chat.completion',
      choices,
      ...(this.#usage === undefined ? {} : { usage: this.#usage }),
    }
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

/** Logprobs come per chunk as `{content: [...], refusal: [...]}`: the lists are concatenated. */
function joinLogprobs(sofar: Json | null, next: Json): Json {
  const joined: Json = { ...(sofar ?? {}) }
  for (const [key, value] of Object.entries(next)) {
    const before = joined[key]
    joined[key] = Array.isArray(value) && Array.isArray(before) ? [...before, ...value] : value
  }
  return joined
}
