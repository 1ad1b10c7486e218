/**
 * Cuts an SSE byte stream into whole events. A relay that forwards raw chunks
 * passes on half an event when the upstream breaks mid-event, and the error
 * event written after it lands on the same line
 * (`…"content":"Heldata: {"error":…}`): the client then sees garbled JSON
 * instead of an error. Forwarding only whole events, and dropping a partial
 * one, keeps every event the client parses intact.
 */
const EVENT_END = /\r\n\r\n|\n\n|\r\r/g

export class SseEventSplitter {
  readonly #decoder = new TextDecoder()
  #pending = ''

  /** The complete events in `chunk` (each with its terminating blank line), in order. */
  push(chunk: Uint8Array): string[] {
    this.#pending += this.#decoder.decode(chunk, { stream: true })
    const events: string[] = []
    let start = 0
    EVENT_END.lastIndex = 0
    for (let match = EVENT_END.exec(this.#pending); match; match = EVENT_END.exec(this.#pending)) {
      const end = match.index + match[0].length
      events.push(this.#pending.slice(start, end))
      start = end
    }
    this.#pending = this.#pending.slice(start)
    return events
  }

  /** Bytes of an event that has begun but not ended: a stream that stops here was cut mid-event. */
  get partial(): boolean {
    return this.#pending.trim().length > 0
  }
}

/** The `data` of one event (its data lines joined by `\n`), or undefined for comments and other fields. */
export function eventData(event: string): string | undefined {
  const lines: string[] = []
  for (const line of event.split(/\r\n|\n|\r/)) {
    if (line.startsWith('data:')) lines.push(line.slice(line.startsWith('data: ') ? 6 : 5))
  }
  return lines.length > 0 ? lines.join('\n') : undefined
}
