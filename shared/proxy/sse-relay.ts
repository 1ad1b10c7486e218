import type { ApiKind } from '../backends/backend-apis.ts'
import type { HeldLease } from '../router/held-lease.ts'
import { streamStep } from './api-answers.ts'
import { eventData, type SseEventSplitter } from './sse-events.ts'
import type { UpstreamTimers } from './upstream-timers.ts'

const encoder = new TextEncoder()

/** The SSE event that ends a stream whose upstream broke: never a silent, truncated 200. */
export function sseErrorEvent(message: string, code: string): Uint8Array {
  const error = { error: { message, type: 'server_error', param: null, code } }
  return encoder.encode(`data: ${JSON.stringify(error)}\n\n`)
}

export type RelayOutcome = 'done' | 'broken' | 'timed-out' | 'too-large' | 'client-closed'

export interface RelayOptions {
  /** The whole events read before the response started (at least one). */
  readonly first: readonly string[]
  readonly reader: ReadableStreamDefaultReader<Uint8Array>
  /** The splitter that cut `first`, holding whatever partial event followed it. */
  readonly splitter: SseEventSplitter
  readonly timers: UpstreamTimers
  readonly lease: HeldLease
  /** Bytes read so far and the cap on the whole stream. */
  readonly bytesSoFar: number
  readonly maxBytes: number
  /** Whose stream it is (chat when absent): `[DONE]` or a Responses terminal event ends it. */
  readonly api?: ApiKind
  readonly onFinish: (outcome: RelayOutcome) => void
}

const ENDINGS: Readonly<Record<Exclude<RelayOutcome, 'done' | 'client-closed'>, Uint8Array>> = {
  broken: sseErrorEvent('The model backend stopped mid-stream.', 'upstream_stream_error'),
  'timed-out': sseErrorEvent(
    'The answer took longer than the gateway allows; ask for fewer tokens.',
    'upstream_timeout',
  ),
  'too-large': sseErrorEvent('The answer is larger than the gateway relays.', 'upstream_response_too_large'),
}

/**
 * Relays an upstream SSE body event by event, pulling only when the client
 * reads (backpressure). Only whole events are forwarded: an upstream cut in the
 * middle of one drops the partial event, so the error event that follows is
 * never glued onto half a JSON line. The lease is released *before* the stream
 * closes: on Lambda nothing runs after the response ends. A client that goes
 * away cancels the stream, which aborts the upstream call and frees the slot.
 */
export function relaySse(options: RelayOptions): ReadableStream<Uint8Array> {
  const { reader, splitter, timers, lease } = options
  let finished = false
  let sawDone = false
  let bytes = options.bytesSoFar
  const api = options.api ?? 'chat'
  const encodeEvents = (events: readonly string[]): Uint8Array | undefined => {
    if (events.length === 0) return undefined
    for (const event of events) {
      const data = eventData(event)
      if (data !== undefined && streamStep(api, data).kind === 'done') sawDone = true
    }
    return encoder.encode(events.join(''))
  }

  const finish = async (controller: ReadableStreamDefaultController<Uint8Array>, outcome: RelayOutcome) => {
    finished = true
    if (outcome !== 'done' && outcome !== 'client-closed') controller.enqueue(ENDINGS[outcome])
    timers.abort()
    // Only a stream the backend finished may leave its slot warm for the next request.
    await lease.release({ reusable: outcome === 'done' }).catch(() => undefined)
    options.onFinish(outcome)
    controller.close()
  }

  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const first = encodeEvents(options.first)
        if (first) controller.enqueue(first)
      },
      async pull(controller) {
        if (finished) return
        try {
          // Reads until there is a whole event to pass on (or the stream ends).
          for (;;) {
            const { done, value } = await reader.read()
            if (done) {
              // A backend that closes before its last event (`[DONE]`, `response.completed`) was cut: say so instead of ending quietly.
              return await finish(controller, sawDone ? 'done' : 'broken')
            }
            timers.progress()
            bytes += value.byteLength
            if (bytes > options.maxBytes) return await finish(controller, 'too-large')
            const events = encodeEvents(splitter.push(value))
            if (events) {
              controller.enqueue(events)
              return
            }
          }
        } catch {
          // A client that left has cancelled the stream already; a backend that keeps the
          // connection open after `[DONE]` has still answered in full.
          if (finished) return
          await finish(controller, sawDone ? 'done' : timers.fired === 'total' ? 'timed-out' : 'broken')
        }
      },
      async cancel() {
        if (finished) return
        finished = true
        timers.abort()
        await lease.release().catch(() => undefined)
        options.onFinish('client-closed')
      },
    },
    { highWaterMark: 0 },
  )
}
