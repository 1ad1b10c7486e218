import type { HeldLease } from '../router/held-lease.ts'

const encoder = new TextEncoder()

/** The SSE event that ends a stream whose upstream broke: never a silent, truncated 200. */
export function sseErrorEvent(message: string, code: string): Uint8Array {
  const error = { error: { message, type: 'server_error', param: null, code } }
  return encoder.encode(`data: ${JSON.stringify(error)}\n\n`)
}

export interface RelayOptions {
  readonly first: Uint8Array
  readonly reader: ReadableStreamDefaultReader<Uint8Array>
  readonly upstream: AbortController
  readonly lease: HeldLease
  readonly idleTimeoutMs: number
  readonly onFinish: (outcome: 'done' | 'broken' | 'client-closed') => void
}

/**
 * Relays an upstream SSE body chunk by chunk, pulling only when the client
 * reads (backpressure). The lease is released *before* the stream closes: on
 * Lambda nothing runs after the response ends. A client that goes away cancels
 * the stream, which aborts the upstream call and frees the slot at once.
 */
export function relaySse(options: RelayOptions): ReadableStream<Uint8Array> {
  const { reader, upstream, lease } = options
  let tail = ''
  let finished = false
  // One streaming decoder: a UTF-8 character split across chunks is decoded whole.
  const decoder = new TextDecoder()
  const note = (chunk: Uint8Array) => {
    tail = (tail + decoder.decode(chunk, { stream: true })).slice(-64)
  }
  note(options.first)

  const finish = async (controller: ReadableStreamDefaultController<Uint8Array>, broken: boolean) => {
    finished = true
    if (broken)
      controller.enqueue(sseErrorEvent('The model backend stopped mid-stream.', 'upstream_stream_error'))
    upstream.abort()
    await lease.release().catch(() => undefined)
    options.onFinish(broken ? 'broken' : 'done')
    controller.close()
  }

  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controller.enqueue(options.first)
      },
      async pull(controller) {
        if (finished) return
        const idle = setTimeout(() => upstream.abort(new Error('idle timeout')), options.idleTimeoutMs)
        try {
          const { done, value } = await reader.read()
          if (done) {
            // A backend that closes without `[DONE]` was cut: say so instead of ending quietly.
            return await finish(controller, !tail.includes('[DONE]'))
          }
          note(value)
          controller.enqueue(value)
        } catch {
          await finish(controller, true)
        } finally {
          clearTimeout(idle)
        }
      },
      async cancel() {
        if (finished) return
        finished = true
        upstream.abort()
        await lease.release().catch(() => undefined)
        options.onFinish('client-closed')
      },
    },
    { highWaterMark: 0 },
  )
}
