/**
 * Folds the chunks of a streamed legacy completion (`/v1/completions`,
 * `object: "text_completion"`) into the answer the same request would have
 * got without `stream`: each choice's `text` joined, its logprobs lists
 * concatenated, the last finish reason, usage, and fields it does not know
 * (engine extensions), as sent.
 */
type Json = Record<string, unknown>

interface ChoiceState {
  index: number
  text: string
  logprobs: Json | null
  finishReason: unknown
  extra: Json
}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

export class TextCompletionAggregator {
  readonly #choices = new Map<number, ChoiceState>()
  readonly #top: Json = {}
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
      choice = { index, text: '', logprobs: null, finishReason: null, extra: {} }
      this.#choices.set(index, choice)
    }
    const { text, logprobs, finish_reason, index: _index, ...extra } = raw
    if (typeof text === 'string') choice.text += text
    if (finish_reason !== undefined && finish_reason !== null) choice.finishReason = finish_reason
    if (isObject(logprobs)) choice.logprobs = joinLists(choice.logprobs, logprobs)
    for (const [key, value] of Object.entries(extra))
      if (value !== null || !(key in choice.extra)) choice.extra[key] = value
  }

  /** The non-streaming answer. */
  build(): Json {
    const choices = [...this.#choices.values()]
      .sort((a, b) => a.index - b.index)
      .map((choice) => ({
        index: choice.index,
        text: choice.text,
        logprobs: choice.logprobs,
        finish_reason: choice.finishReason,
        ...choice.extra,
      }))
    return {
      ...this.#top,
      object: 'text_completion',
      choices,
      ...(this.#usage === undefined ? {} : { usage: this.#usage }),
    }
  }
}

/** Completions logprobs come per chunk as parallel lists (`tokens`, `token_logprobs`, …): concatenated. */
function joinLists(sofar: Json | null, next: Json): Json {
  const joined: Json = { ...(sofar ?? {}) }
  for (const [key, value] of Object.entries(next)) {
    const before = joined[key]
    joined[key] = Array.isArray(value) && Array.isArray(before) ? [...before, ...value] : value
  }
  return joined
}
