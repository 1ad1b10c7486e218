import { type AppLogger, errorFields } from '../logging.ts'

export interface AnswerThenReleaseOptions {
  /** The whole answer, sent as `application/json`. */
  readonly json: unknown
  readonly status?: number
  readonly headers?: Readonly<Record<string, string>>
  /** Frees what the answer held (its lease); called once, whatever ends the body. */
  readonly release: () => Promise<void>
  readonly log: AppLogger
}

const encoder = new TextEncoder()

/**
 * A whole answer whose body is the JSON in one chunk, then the release, then the
 * end. With `content-length` set, a Node client (undici, the openai SDK) has the
 * answer at its last byte and does not wait for the end, so the release write is
 * off the client's path; the body still ends only after the release, because on
 * Lambda nothing runs once the response stream closes.
 *
 * @example
 * return answerThenRelease({ json: completion, release: () => lease.release(), log })
 */
export function answerThenRelease(o: AnswerThenReleaseOptions): Response {
  const bytes = encoder.encode(JSON.stringify(o.json))
  let released: Promise<void> | undefined
  // Never rejects: the bytes are out already, and a lease left behind expires after its TTL.
  const release = () => {
    released ??= (async () => {
      try {
        await o.release()
      } catch (error) {
        o.log.warn('release after the answer failed; it expires on its own', errorFields(error))
      }
    })()
    return released
  }
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controller.enqueue(bytes)
        // On the next turn: from here to Node's socket write is promise work, so the bytes
        // leave first and the write's own CPU does not delay them. Not on the consumer's next
        // read, so a client that stops reading does not keep the slot.
        setImmediate(() => void release())
      },
      async pull(controller) {
        await release()
        controller.close()
      },
      async cancel() {
        // The client left: the slot is freed all the same.
        await release()
      },
    },
    // Pulled only when the consumer asks past the JSON: the end waits for the release, the bytes do not.
    { highWaterMark: 0 },
  )
  return new Response(body, {
    status: o.status ?? 200,
    headers: { ...o.headers, 'content-type': 'application/json', 'content-length': String(bytes.byteLength) },
  })
}
