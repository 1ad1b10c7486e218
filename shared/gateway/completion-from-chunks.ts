/**
 * Folds a chat completion's SSE stream back into the `chat.completion` it
 * stands for, as it passes: a held stream's job stores it, and a retry with the
 * same `Idempotency-Key` gets it replayed (same completion id) instead of a
 * second generation. Only the fields a replay needs are kept.
 */
interface ChoiceSoFar {
  role: string
  content: string
  sawContent: boolean
  toolCalls: Map<number, { id?: string; type?: string; name: string; arguments: string }>
  finishReason: unknown
}

export class CompletionFromChunks {
  #pending = ''
  #meta: Record<string, unknown> = {}
  readonly #choices = new Map<number, ChoiceSoFar>()
  #usage: unknown
  #done = false
  #failed = false
  readonly #decoder = new TextDecoder()

  /** Feeds raw SSE bytes (chunk boundaries anywhere, even inside a UTF-8 character). */
  push(bytes: Uint8Array): void {
    this.#pending += this.#decoder.decode(bytes, { stream: true })
    const events = this.#pending.split(/\r?\n\r?\n/)
    this.#pending = events.pop() ?? ''
    for (const event of events) this.#event(event)
  }

  /** Saw `data: [DONE]`, and no error event. */
  get complete(): boolean {
    return this.#done && !this.#failed
  }

  /** The completion so far (whole once `complete`). */
  result(): Record<string, unknown> {
    const choices = [...this.#choices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, c]) => {
        const toolCalls = [...c.toolCalls.entries()]
          .sort(([a], [b]) => a - b)
          .map(([, t]) => ({
            id: t.id,
            type: t.type ?? 'function',
            function: { name: t.name, arguments: t.arguments },
          }))
        return {
          index,
          message: {
            role: c.role,
            content: c.sawContent || toolCalls.length === 0 ? c.content : null,
            ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
          },
          finish_reason: c.finishReason ?? null,
        }
      })
    return {
      ...this.#meta,
      object: 'chat.completion',
      choices,
      ...(this.#usage ? { usage: this.#usage } : {}),
    }
  }

  #event(event: string): void {
    const data = event
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trimStart())
      .join('\n')
    if (data === '') return
    if (data === '[DONE]') {
      this.#done = true
      return
    }
    let chunk: Record<string, unknown>
    try {
      chunk = JSON.parse(data) as Record<string, unknown>
    } catch {
      return
    }
    if (chunk.error) {
      this.#failed = true
      return
    }
    for (const field of ['id', 'created', 'model', 'system_fingerprint'] as const) {
      if (chunk[field] !== undefined && this.#meta[field] === undefined) this.#meta[field] = chunk[field]
    }
    if (chunk.usage) this.#usage = chunk.usage
    for (const raw of Array.isArray(chunk.choices) ? (chunk.choices as Record<string, unknown>[]) : []) {
      this.#choice(raw)
    }
  }

  #choice(raw: Record<string, unknown>): void {
    const index = typeof raw.index === 'number' ? raw.index : 0
    let choice = this.#choices.get(index)
    if (!choice) {
      choice = {
        role: 'assistant',
        content: '',
        sawContent: false,
        toolCalls: new Map(),
        finishReason: undefined,
      }
      this.#choices.set(index, choice)
    }
    const delta = (raw.delta ?? {}) as Record<string, unknown>
    if (typeof delta.role === 'string') choice.role = delta.role
    if (typeof delta.content === 'string') {
      choice.content += delta.content
      choice.sawContent = true
    }
    for (const call of Array.isArray(delta.tool_calls)
      ? (delta.tool_calls as Record<string, unknown>[])
      : []) {
      const at = typeof call.index === 'number' ? call.index : choice.toolCalls.size
      const fn = (call.function ?? {}) as Record<string, unknown>
      const so = choice.toolCalls.get(at) ?? { name: '', arguments: '' }
      if (typeof call.id === 'string') so.id = call.id
      if (typeof call.type === 'string') so.type = call.type
      if (typeof fn.name === 'string') so.name += fn.name
      if (typeof fn.arguments === 'string') so.arguments += fn.arguments
      choice.toolCalls.set(at, so)
    }
    if (raw.finish_reason !== undefined && raw.finish_reason !== null) choice.finishReason = raw.finish_reason
  }
}
