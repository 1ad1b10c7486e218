/**
 * What folding a streamed OpenAI answer into its non-streaming form shares
 * between chat and legacy completions: top-level fields kept as first sent,
 * usage from the chunk that has it, and per choice (by `index`) the last finish
 * reason, logprobs lists concatenated, and fields it does not know (engine
 * extensions) as sent. Each API folds its own content field (`delta`, `text`).
 */
export type Json = Record<string, unknown>

export const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

export interface FoldedChoice {
  readonly index: number
  logprobs: Json | null
  finishReason: unknown
  extra: Json
}

export abstract class ChoiceStreamFold<Choice extends FoldedChoice> {
  readonly #choices = new Map<number, Choice>()
  readonly #top: Json = {}
  #usage: unknown

  /** The answer's `object`, and the chunk field that carries a choice's content. */
  protected abstract readonly object: string
  protected abstract readonly contentField: string
  protected abstract newChoice(index: number): Choice
  protected abstract foldContent(choice: Choice, content: unknown): void
  /** The choice's content fields in the non-streaming answer (`message`, `text`). */
  protected abstract contentOf(choice: Choice): Json

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
      choice = this.newChoice(index)
      this.#choices.set(index, choice)
    }
    const { [this.contentField]: content, logprobs, finish_reason, index: _index, ...extra } = raw
    if (finish_reason !== undefined && finish_reason !== null) choice.finishReason = finish_reason
    for (const [key, value] of Object.entries(extra))
      if (value !== null || !(key in choice.extra)) choice.extra[key] = value
    if (isObject(logprobs)) choice.logprobs = joinLogprobLists(choice.logprobs, logprobs)
    this.foldContent(choice, content)
  }

  /** The non-streaming answer. */
  build(): Json {
    const choices = [...this.#choices.values()]
      .sort((a, b) => a.index - b.index)
      .map((choice) => ({
        index: choice.index,
        ...this.contentOf(choice),
        logprobs: choice.logprobs,
        finish_reason: choice.finishReason,
        ...choice.extra,
      }))
    return {
      ...this.#top,
      object: this.object,
      choices,
      ...(this.#usage === undefined ? {} : { usage: this.#usage }),
    }
  }
}

/** Logprobs come per chunk as parallel lists (`content`, `refusal`; `tokens`, `token_logprobs`, …): concatenated. */
function joinLogprobLists(sofar: Json | null, next: Json): Json {
  const joined: Json = { ...(sofar ?? {}) }
  for (const [key, value] of Object.entries(next)) {
    const before = joined[key]
    joined[key] = Array.isArray(value) && Array.isArray(before) ? [...before, ...value] : value
  }
  return joined
}
